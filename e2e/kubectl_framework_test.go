package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"meseta.dev/meseta/pkg/freeport"
)

// TestKubectlFramework runs examples/kubectl-framework, a framework that is a
// shell script using kubectl alone, against `meseta dev`: it declines an
// offer, launches a task on the next, and the task runs in a real container.
func TestKubectlFramework(t *testing.T) {
	g := NewWithT(t)
	home := t.TempDir()
	dev := startDev(t, home, filepath.Join(home, "dev"), freeport.Local(t))
	kubectl, err := exec.LookPath("kubectl")
	g.Expect(err).NotTo(HaveOccurred(), "kubectl must be on PATH")

	script, err := filepath.Abs(filepath.Join("..", "examples", "kubectl-framework", "framework.sh"))
	g.Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command("sh", script)
	cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG="+filepath.Join(home, ".meseta", "kubeconfig"),
		"KUBECTL="+kubectl, "NAMESPACE=default", "FRAMEWORK=shell",
		"IMAGE=oci:"+filepath.Join(binDir(t), "images", "busybox"),
		"COMMAND=echo hello from a kubectl framework; exec sleep 1000")
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the script did not finish in 3m:\n%s\n%s", out, tail(dev.log.String(), 4000))
	}
	g.Expect(err).NotTo(HaveOccurred(), "%s\n%s", out, tail(dev.log.String(), 4000))
	g.Expect(string(out)).To(ContainSubstring("declining offer"))
	g.Expect(string(out)).To(ContainSubstring("shell-hello is Running"))

	got, err := dev.mesetactl("get", "task", "shell-hello", "-o", "jsonpath={.status.state} {.spec.nodeName}")
	g.Expect(err).NotTo(HaveOccurred(), got)
	g.Expect(got).To(Equal("Running dev-node"))
	g.Eventually(func() string {
		logs, _ := dev.mesetactl("logs", "shell-hello")
		return logs
	}, 30*time.Second, 200*time.Millisecond).Should(Equal("hello from a kubectl framework\n"))
	phases, err := dev.mesetactl("get", "offers", "--field-selector", "spec.framework=shell",
		"-o", `jsonpath={range .items[*]}{.status.phase}{"\n"}{end}`)
	g.Expect(err).NotTo(HaveOccurred(), phases)
	g.Expect(phases).To(ContainSubstring("Declined"))
	g.Expect(phases).To(ContainSubstring("Accepted"))

	out2, err := dev.mesetactl("delete", "task", "shell-hello", "--wait")
	g.Expect(err).NotTo(HaveOccurred(), out2)
	dev.interrupt()
}
