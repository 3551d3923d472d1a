package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"meseta.dev/meseta/pkg/freeport"
)

// TestDevCluster starts `meseta dev` with a private HOME: it writes both
// kubeconfigs, mesetactl finds ~/.meseta/kubeconfig without flags, and Ctrl-C
// (SIGINT) stops the whole cluster cleanly.
func TestDevCluster(t *testing.T) {
	g := NewWithT(t)
	home := t.TempDir()
	dataDir := filepath.Join(home, "dev")
	port := freeport.Local(t)
	dev := exec.Command(filepath.Join(binDir(t), "meseta"), "dev", "--data-dir", dataDir, "--port", fmt.Sprint(port),
		"--runtime", filepath.Join(binDir(t), "runc"))
	dev.Env = append(os.Environ(), "HOME="+home)
	log := &lockedBuffer{}
	dev.Stdout, dev.Stderr = log, log
	dev.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	g.Expect(dev.Start()).To(Succeed())
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = dev.Wait(); close(done) }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = syscall.Kill(-dev.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})

	mesetactl := func(args ...string) (string, error) {
		cmd := exec.Command(filepath.Join(binDir(t), "mesetactl"), args...)
		cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG=")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	g.Eventually(func() error {
		_, err := mesetactl("get", "--raw", "/readyz")
		return err
	}).WithTimeout(90*time.Second).WithPolling(500*time.Millisecond).Should(Succeed(), func() string { return log.String() })
	g.Expect(filepath.Join(dataDir, "admin.kubeconfig")).To(BeARegularFile())
	g.Expect(filepath.Join(home, ".meseta", "kubeconfig")).To(BeARegularFile())
	g.Expect(log.String()).To(ContainSubstring("Meseta dev cluster is ready"))

	out, err := mesetactl("get", "nodes")
	g.Expect(err).NotTo(HaveOccurred(), out)

	g.Expect(dev.Process.Signal(syscall.SIGINT)).To(Succeed())
	select {
	case <-done:
		g.Expect(waitErr).NotTo(HaveOccurred(), tail(log.String(), 4000))
	case <-time.After(60 * time.Second):
		t.Fatalf("meseta dev did not stop within 60s of SIGINT:\n%s", tail(log.String(), 4000))
	}
}
