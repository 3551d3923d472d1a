package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"meseta.dev/meseta/pkg/freeport"
)

// devProcess is a running `meseta dev` with a private HOME.
type devProcess struct {
	t    *testing.T
	home string
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{}
	err  error
}

func startDev(t *testing.T, home, dataDir string, port int) *devProcess {
	t.Helper()
	d := &devProcess{t: t, home: home, log: &lockedBuffer{}, done: make(chan struct{})}
	d.cmd = exec.Command(filepath.Join(binDir(t), "meseta"), "dev", "--data-dir", dataDir, "--port", fmt.Sprint(port),
		"--runtime", filepath.Join(binDir(t), "runc"), "--node-name", "dev-node", "--resources", "cpus:2;mem:2Gi")
	d.cmd.Env = append(os.Environ(), "HOME="+home)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		select {
		case <-d.done:
		default:
			_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
			<-d.done
		}
	})
	NewWithT(t).Eventually(func() string {
		out, _ := d.mesetactl("get", "nodes.meseta.dev", "dev-node", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		return out
	}).WithTimeout(90*time.Second).WithPolling(500*time.Millisecond).Should(Equal("True"), d.log.String)
	// The node may be Ready from an earlier run: wait for this run's agent.
	NewWithT(t).Eventually(d.log.String).WithTimeout(60 * time.Second).Should(ContainSubstring(`"Agent ready"`))
	return d
}

func (d *devProcess) mesetactl(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(binDir(d.t), "mesetactl"), args...)
	cmd.Env = append(os.Environ(), "HOME="+d.home, "KUBECONFIG=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// interrupt sends Ctrl-C and waits for a clean exit.
func (d *devProcess) interrupt() {
	d.t.Helper()
	NewWithT(d.t).Expect(d.cmd.Process.Signal(syscall.SIGINT)).To(Succeed())
	select {
	case <-d.done:
		if d.err != nil {
			d.t.Fatalf("meseta dev failed: %v\n%s", d.err, tail(d.log.String(), 4000))
		}
	case <-time.After(90 * time.Second):
		d.t.Fatalf("meseta dev did not stop within 90s of SIGINT:\n%s", tail(d.log.String(), 4000))
	}
}

// TestDevClusterRunsAndKillsTasks: `meseta dev` runs an agent in its process;
// Ctrl-C kills its running tasks, which are reported Killed before the master
// stops (seen after a restart on the same data dir), and leaves no container.
func TestDevClusterRunsAndKillsTasks(t *testing.T) {
	g := NewWithT(t)
	home := t.TempDir()
	dataDir := filepath.Join(home, "dev")
	port := freeport.Local(t)
	image := filepath.Join(binDir(t), "images", "busybox")
	dev := startDev(t, home, dataDir, port)

	manifest := fmt.Sprintf(`apiVersion: meseta.dev/v1alpha1
kind: Task
metadata: {name: long, namespace: default}
spec:
  framework: dev
  nodeName: dev-node
  resources: {cpus: "0.1", mem: 32Mi}
  killGracePeriod: 1s
  container: {image: "oci:%s", command: [sh, -c, "echo started; exec sleep 1000"]}
`, image)
	cmd := exec.Command(filepath.Join(binDir(t), "mesetactl"), "apply", "-f", "-")
	cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG=")
	cmd.Stdin = strings.NewReader(manifest)
	applied, err := cmd.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(applied))
	state := func() string {
		out, _ := dev.mesetactl("get", "task", "long", "-o", "jsonpath={.status.state}/{.status.reason}")
		return out
	}
	g.Eventually(state, time.Minute, 100*time.Millisecond).Should(Equal("Running/"), dev.log.String)
	out, err := dev.mesetactl("logs", "long")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(Equal("started\n"))

	dev.interrupt()
	runcState := filepath.Join(dataDir, "agent", "runtime", "runc")
	entries, _ := os.ReadDir(runcState)
	g.Expect(entries).To(BeEmpty(), "no container outlives the dev cluster")

	again := startDev(t, home, dataDir, port)
	g.Expect(state()).To(Equal("Killed/AgentDrained"))
	out, err = again.mesetactl("get", "task", "long", "-o", "jsonpath={.metadata.finalizers}")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(BeEmpty(), "the finalizer was removed before the dev cluster stopped")
	again.interrupt()
}
