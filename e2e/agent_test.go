package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"meseta.dev/meseta/pkg/freeport"
)

// startAgent starts `meseta agent` for the cluster with the admin kubeconfig and
// waits until its Node is Ready. The agent is stopped (SIGTERM) at cleanup.
func (c *cluster) startAgent(node string, extraArgs ...string) *process {
	c.t.Helper()
	bin := binDir(c.t)
	if _, err := os.Stat(filepath.Join(bin, "runc")); err != nil {
		c.t.Fatalf("runc not found in %s (run `make bin/runc`): %v", bin, err)
	}
	args := append([]string{"agent", "--kubeconfig", c.kubeconfig, "--node-name", node,
		"--work-dir", filepath.Join(c.t.TempDir(), "agent"), "--runtime", filepath.Join(bin, "runc"),
		"--resources", "cpus:2;mem:2Gi;disk:10Gi", "--attributes", "rack:r1",
		"--bind-address", "127.0.0.1", "--address", "127.0.0.1", "--port", fmt.Sprint(freeport.Local(c.t)),
		"--heartbeat-interval", "1s", "--lease-duration", "10s"}, extraArgs...)
	p := startProcess(c.t, filepath.Join(bin, "meseta"), args...)
	c.t.Cleanup(func() { p.stop(c.t, 60*time.Second) })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			c.t.Fatalf("meseta agent exited while starting:\n%s", p.log)
		default:
		}
		out, err := c.kubectlErr("get", "nodes.meseta.dev", node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err == nil && out == "True" {
			return p
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("meseta agent did not register a ready node:\n%s", p.log)
	return nil
}

// TestAgentRunsTasks starts `meseta master` and `meseta agent`, places a task on
// the node with kubectl, and reads its output with mesetactl logs.
func TestAgentRunsTasks(t *testing.T) {
	g := NewWithT(t)
	c := startMaster(t)
	image := filepath.Join(binDir(t), "images", "busybox")
	if _, err := os.Stat(image); err != nil {
		t.Fatalf("test image not found (run `make images`): %v", err)
	}
	agent := c.startAgent("e2e-node")

	out := c.kubectl("get", "nodes.meseta.dev", "e2e-node", "-o", "jsonpath={.status.capacity.cpus} {.status.attributes.rack} {.status.runtime}")
	g.Expect(out).To(HavePrefix("2 r1 runc "))

	manifest := fmt.Sprintf(`apiVersion: meseta.dev/v1alpha1
kind: Task
metadata: {name: hello, namespace: default}
spec:
  framework: e2e
  nodeName: e2e-node
  resources: {cpus: "0.1", mem: 32Mi}
  container:
    image: oci:%s
    command: [sh, -c, "echo hello from $MESETA_TASK_NAME; sleep 2; echo bye >&2"]
`, image)
	created := time.Now()
	out, err := c.applyYAML(manifest)
	g.Expect(err).NotTo(HaveOccurred(), out)
	state := func() string {
		out, _ := c.kubectlErr("get", "task", "hello", "-o", "jsonpath={.status.state}")
		return out
	}
	g.Eventually(state, time.Minute, 20*time.Millisecond).Should(Equal("Running"), agent.log.String)
	t.Logf("create to Running through kubectl and the API: %s", time.Since(created).Round(time.Millisecond))

	// Follow while the task runs: the stream ends when the task is terminal.
	out, err = c.mesetactl("logs", "hello", "-f")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(Equal("hello from hello\n"))
	g.Eventually(state, 30*time.Second).Should(Equal("Finished"))
	out, err = c.mesetactl("logs", "hello", "--stderr")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(Equal("bye\n"))
	out = c.kubectl("get", "task", "hello", "-o", "jsonpath={.status.exitCode} {.status.containerID}")
	g.Expect(out).To(HavePrefix("0 default_hello_"))

	// Deleting a running task kills it; the finalizer goes once it is Killed.
	out, err = c.applyYAML(strings.Replace(strings.Replace(manifest, "name: hello", "name: sleeper", 1),
		`[sh, -c, "echo hello from $MESETA_TASK_NAME; sleep 2; echo bye >&2"]`, `[sleep, "1000"]`, 1))
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Eventually(func() string {
		out, _ := c.kubectlErr("get", "task", "sleeper", "-o", "jsonpath={.status.state}")
		return out
	}, time.Minute, 50*time.Millisecond).Should(Equal("Running"))
	out = c.kubectl("delete", "task", "sleeper", "--timeout=60s")
	g.Expect(out).To(ContainSubstring("deleted"))

	// A missing task is a clear error.
	out, err = c.mesetactl("logs", "nope")
	g.Expect(err).To(HaveOccurred())
	g.Expect(out).To(ContainSubstring("not found"))
}
