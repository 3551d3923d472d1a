package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/freeport"
)

// devApps drives the Apps of a `meseta dev` cluster with the real kubectl,
// and looks at its containers with the real runc.
type devApps struct {
	t          *testing.T
	dev        *devProcess
	kubeconfig string
	runcRoot   string
}

func (a *devApps) kubectl(stdin string, args ...string) (string, error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", a.kubeconfig}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// tasks returns the tasks of App app that have not ended.
func (a *devApps) tasks(g Gomega, app string) []v1alpha1.Task {
	out, err := a.kubectl("", "get", "tasks.meseta.dev", "-n", "default", "-o", "json")
	g.Expect(err).NotTo(HaveOccurred(), out)
	list := &v1alpha1.TaskList{}
	g.Expect(json.Unmarshal([]byte(out), list)).To(Succeed())
	var tasks []v1alpha1.Task
	for _, t := range list.Items {
		if t.Annotations["meseta.dev/app"] == app && !t.IsTerminal() {
			tasks = append(tasks, t)
		}
	}
	return tasks
}

// app returns the App.
func (a *devApps) app(g Gomega, name string) *v1alpha1.App {
	out, err := a.kubectl("", "get", "apps.meseta.dev", name, "-n", "default", "-o", "json")
	g.Expect(err).NotTo(HaveOccurred(), out)
	app := &v1alpha1.App{}
	g.Expect(json.Unmarshal([]byte(out), app)).To(Succeed())
	return app
}

// runc runs the real runc on the dev agent's state directory.
func (a *devApps) runc(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(binDir(a.t), "runc"), append([]string{"--root", a.runcRoot}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// containerPid returns the pid of a running container, or 0.
func (a *devApps) containerPid(id string) int {
	out, err := a.runc("state", id)
	if err != nil {
		return 0
	}
	var st struct {
		Status string `json:"status"`
		Pid    int    `json:"pid"`
	}
	if json.Unmarshal([]byte(out), &st) != nil || st.Status != "running" {
		return 0
	}
	return st.Pid
}

// running checks that app has n healthy instances of one version (version,
// when not empty), each a running container.
func (a *devApps) running(name string, n int, version string) func(g Gomega) []v1alpha1.Task {
	return func(g Gomega) []v1alpha1.Task {
		app := a.app(g, name)
		g.Expect([]int32{app.Status.Running, app.Status.Healthy, app.Status.Instances}).To(Equal([]int32{int32(n), int32(n), int32(n)}), "%+v", app.Status)
		g.Expect(app.Status.Deployment).NotTo(BeNil())
		g.Expect(app.Status.Deployment.Phase).To(Equal(v1alpha1.DeploymentComplete))
		if version != "" {
			g.Expect(app.Status.Deployment.ID).To(Equal(version))
		}
		tasks := a.tasks(g, name)
		g.Expect(tasks).To(HaveLen(n))
		for _, t := range tasks {
			g.Expect(t.Status.ContainerID).NotTo(BeEmpty())
			g.Expect(a.containerPid(t.Status.ContainerID)).To(BeNumerically(">", 0), "container of %s", t.Name)
		}
		return tasks
	}
}

// TestDevApps: in `meseta dev`, an App of 3 instances reaches 3 running runc
// containers; killing one container's process gets it replaced; changing the
// template rolls every instance; deleting the App leaves no container.
func TestDevApps(t *testing.T) {
	g := NewWithT(t)
	home := t.TempDir()
	dataDir := filepath.Join(home, "dev")
	dev := startDev(t, home, dataDir, freeport.Local(t))
	a := &devApps{t: t, dev: dev, kubeconfig: filepath.Join(dataDir, "admin.kubeconfig"), runcRoot: filepath.Join(dataDir, "agent", "runtime", "runc")}
	image := filepath.Join(binDir(t), "images", "busybox")

	manifest := fmt.Sprintf(`apiVersion: meseta.dev/v1alpha1
kind: App
metadata: {name: web, namespace: default}
spec:
  instances: 3
  template:
    resources: {cpus: "0.1", mem: 32Mi}
    killGracePeriod: 1s
    container: {image: "oci:%s", command: [sh, -c, "exec sleep 100000"]}
    healthCheck: {type: Command, command: ["true"], delay: 0s, interval: 1s, timeout: 5s, gracePeriod: 0s}
  upgradeStrategy: {minimumHealthCapacity: 50, maximumOverCapacity: 0}
  backoff: {initialSeconds: 1, maxSeconds: 2}
`, image)
	out, err := a.kubectl(manifest, "apply", "-f", "-")
	g.Expect(err).NotTo(HaveOccurred(), out)
	var tasks []v1alpha1.Task
	g.Eventually(func(g Gomega) { tasks = a.running("web", 3, "")(g) }).WithTimeout(2*time.Minute).WithPolling(time.Second).Should(Succeed(), dev.log.String)

	// Kill one container's process: its task fails and a new one replaces it.
	victim := tasks[0]
	pid := a.containerPid(victim.Status.ContainerID)
	g.Expect(pid).To(BeNumerically(">", 0))
	g.Expect(syscall.Kill(pid, syscall.SIGKILL)).To(Succeed())
	g.Eventually(func(g Gomega) {
		tasks := a.running("web", 3, "")(g)
		for _, t := range tasks {
			g.Expect(t.Name).NotTo(Equal(victim.Name))
		}
		g.Expect(a.app(g, "web").Status.LastTaskFailure).To(HaveField("Task", victim.Name))
	}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed(), dev.log.String)

	// Change the template: every instance is replaced by one of the new version.
	old := a.app(g, "web").Status.Deployment.ID
	out, err = a.kubectl("", "patch", "apps.meseta.dev", "web", "-n", "default", "--type", "merge",
		"-p", `{"spec":{"template":{"container":{"env":[{"name":"VERSION","value":"2"}]}}}}`)
	g.Expect(err).NotTo(HaveOccurred(), out)
	var version string
	g.Eventually(func(g Gomega) {
		version = a.app(g, "web").Status.Deployment.ID
		g.Expect(version).NotTo(Equal(old))
	}).WithTimeout(30 * time.Second).Should(Succeed())
	g.Eventually(func(g Gomega) {
		for _, t := range a.running("web", 3, version)(g) {
			g.Expect(t.Labels["meseta.dev/app-version"]).To(Equal(version))
			g.Expect(t.Spec.Container.Env).To(ContainElement(v1alpha1.EnvVar{Name: "VERSION", Value: "2"}))
		}
	}).WithTimeout(2*time.Minute).WithPolling(time.Second).Should(Succeed(), dev.log.String)

	// Delete the App: it goes only once its containers are gone.
	a.deleteLeavesNoContainer(g, "web")

	// The sample App runs as it is (with the test image where the build put it).
	sample, err := os.ReadFile("../config/samples/meseta_v1alpha1_app.yaml")
	g.Expect(err).NotTo(HaveOccurred())
	manifest = strings.ReplaceAll(string(sample), "oci:/var/lib/meseta/images/busybox", "oci:"+image)
	out, err = a.kubectl(manifest, "apply", "-n", "default", "-f", "-")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Eventually(a.running("web", 3, "")).WithTimeout(2*time.Minute).WithPolling(time.Second).Should(HaveLen(3), dev.log.String)
	a.deleteLeavesNoContainer(g, "web")
	dev.interrupt()
}

// deleteLeavesNoContainer deletes App name and checks that it went only once
// its tasks and their containers were gone.
func (a *devApps) deleteLeavesNoContainer(g Gomega, name string) {
	out, err := a.kubectl("", "delete", "apps.meseta.dev", name, "-n", "default", "--timeout=90s")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(a.tasks(g, name)).To(BeEmpty())
	out, err = a.runc("list", "-q")
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(strings.TrimSpace(out)).To(BeEmpty(), "no container is left")
	entries, _ := os.ReadDir(a.runcRoot)
	g.Expect(entries).To(BeEmpty())
}
