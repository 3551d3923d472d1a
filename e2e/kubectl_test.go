package e2e

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

const frameworkYAML = `apiVersion: meseta.dev/v1alpha1
kind: Framework
metadata: {name: analytics, namespace: default}
spec:
  role: team-a
  failoverTimeout: 10m
`

const taskYAML = `apiVersion: meseta.dev/v1alpha1
kind: Task
metadata: {name: report-1, namespace: default}
spec:
  framework: analytics
  offers: [analytics-node-a-1]
  resources: {cpus: "0.5", mem: 64Mi}
  container:
    image: oci:/var/lib/meseta/images/busybox
    command: [sh, -c, "echo hello"]
  killGracePeriod: 5s
`

// TestKubectlAgainstMaster drives a started `meseta master` with the real kubectl.
func TestKubectlAgainstMaster(t *testing.T) {
	c := startMaster(t)

	t.Run("version", func(t *testing.T) {
		g := NewWithT(t)
		out := c.kubectl("version", "-o", "json")
		g.Expect(out).To(ContainSubstring(`"serverVersion"`))
		g.Expect(out).To(ContainSubstring(`"gitVersion": "v1.37`))
	})

	t.Run("api-resources lists every Meseta kind", func(t *testing.T) {
		g := NewWithT(t)
		out := c.kubectl("api-resources", "--api-group=meseta.dev", "-o", "name")
		for _, r := range []string{"nodes", "roles", "frameworks", "offers", "tasks", "apps", "jobs"} {
			g.Expect(out).To(ContainSubstring(r+".meseta.dev"), r)
		}
	})

	t.Run("explain documents the task spec", func(t *testing.T) {
		g := NewWithT(t)
		out := c.kubectl("explain", "tasks.spec")
		g.Expect(out).To(ContainSubstring("framework"))
		g.Expect(out).To(ContainSubstring("offers"))
		g.Expect(out).To(ContainSubstring("container"))
		out = c.kubectl("explain", "tasks.spec.resources.cpus")
		g.Expect(out).To(ContainSubstring("cpus"))
	})

	t.Run("apply, server-side apply, get, diff and delete", func(t *testing.T) {
		g := NewWithT(t)
		out, err := c.applyYAML(frameworkYAML)
		g.Expect(err).NotTo(HaveOccurred(), out)
		g.Expect(out).To(ContainSubstring("framework.meseta.dev/analytics created"))

		out, err = c.applyYAML(taskYAML, "--server-side", "--field-manager=e2e")
		g.Expect(err).NotTo(HaveOccurred(), out)
		g.Expect(out).To(ContainSubstring("task.meseta.dev/report-1 serverside-applied"))

		out = c.kubectl("get", "task", "report-1", "-o", "yaml", "--show-managed-fields")
		g.Expect(out).To(ContainSubstring("framework: analytics"))
		g.Expect(out).To(ContainSubstring("manager: e2e"))

		out = c.kubectl("get", "tasks")
		g.Expect(out).To(ContainSubstring("report-1"))

		changed := strings.Replace(frameworkYAML, "failoverTimeout: 10m", "failoverTimeout: 20m", 1)
		out, err = c.run("kubectl", []byte(changed), "diff", "-f", "-")
		g.Expect(err).To(HaveOccurred(), "kubectl diff exits 1 when there are differences")
		g.Expect(out).To(ContainSubstring("failoverTimeout: 20m"))

		out = c.kubectl("delete", "task", "report-1", "--wait=false")
		g.Expect(out).To(ContainSubstring("deleted"))
	})

	t.Run("get -w sees a change", func(t *testing.T) {
		g := NewWithT(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		watch := exec.CommandContext(ctx, "kubectl", "--kubeconfig", c.kubeconfig, "get", "frameworks", "-w",
			"-o", "custom-columns=NAME:.metadata.name,WATCHED:.metadata.labels.watched", "--no-headers")
		stdout, err := watch.StdoutPipe()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(watch.Start()).To(Succeed())
		defer func() { cancel(); _ = watch.Wait() }()
		lines := make(chan string, 16)
		go func() {
			scanner := bufio.NewScanner(stdout)
			for scanner.Scan() {
				lines <- scanner.Text()
			}
			close(lines)
		}()
		g.Eventually(lines).WithTimeout(10 * time.Second).Should(Receive(MatchRegexp(`analytics\s+<none>`)))
		c.kubectl("label", "framework", "analytics", "watched=yes")
		g.Eventually(lines).WithTimeout(10 * time.Second).Should(Receive(MatchRegexp(`analytics\s+yes`)))
	})

	t.Run("auth can-i", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(strings.TrimSpace(c.kubectl("auth", "can-i", "create", "tasks.meseta.dev"))).To(Equal("yes"))
		out, err := c.kubectlErr("auth", "can-i", "create", "tasks.meseta.dev", "--as", "someone")
		g.Expect(err).To(HaveOccurred())
		g.Expect(strings.TrimSpace(out)).To(Equal("no"))
	})

	t.Run("an invalid manifest is rejected with the field named", func(t *testing.T) {
		tests := []struct {
			name     string
			manifest string
			field    string
		}{
			{"negative cpus", strings.Replace(taskYAML, `cpus: "0.5"`, `cpus: "-1"`, 1), "cpus"},
			{"unknown task state", `apiVersion: meseta.dev/v1alpha1
kind: Framework
metadata: {name: bad, namespace: default}
spec: {failoverTimeout: 10m, suppressed: "maybe"}
`, "spec.suppressed"},
			{"missing framework", strings.Replace(taskYAML, "  framework: analytics\n", "", 1), "spec.framework"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				g := NewWithT(t)
				// A new name, so the manifest cannot merge into an existing object.
				manifest := strings.Replace(strings.Replace(tt.manifest, "name: report-1", "name: invalid", 1), "name: bad", "name: invalid", 1)
				out, err := c.applyYAML(manifest)
				g.Expect(err).To(HaveOccurred(), out)
				g.Expect(out).To(ContainSubstring(tt.field))
			})
		}
	})
}

// TestMesetactl drives the cluster with mesetactl, the project's own CLI.
func TestMesetactl(t *testing.T) {
	c := startMaster(t)
	g := NewWithT(t)
	out, err := c.mesetactl("apply", "-f", "../config/samples/")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("serverside-applied"))

	out, err = c.mesetactl("get", "meseta", "-A")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(out).To(ContainSubstring("app.meseta.dev/"))

	out, err = c.mesetactl("describe", "jobs", "-A")
	g.Expect(err).NotTo(HaveOccurred(), out)

	// Deleting the Framework tears its tasks down, so the sample Task may be
	// gone before its turn comes.
	out, err = c.mesetactl("delete", "-f", "../config/samples/", "--ignore-not-found")
	g.Expect(err).NotTo(HaveOccurred(), out)

	out, err = c.mesetactl("get", "nodes", "-o", "name")
	g.Expect(err).NotTo(HaveOccurred(), out)
}

// TestMasterRestartKeepsData stops a master with SIGTERM and restarts it on the
// same data dir: objects, certificates and the kubeconfig survive.
func TestMasterRestartKeepsData(t *testing.T) {
	c := startMaster(t)
	g := NewWithT(t)
	out, err := c.applyYAML(frameworkYAML)
	g.Expect(err).NotTo(HaveOccurred(), out)
	c.stop()
	c.start()
	out = c.kubectl("get", "framework", "analytics", "-o", "jsonpath={.spec.role}")
	g.Expect(out).To(Equal("team-a"))
}
