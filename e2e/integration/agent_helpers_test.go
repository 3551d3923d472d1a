package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent"
	"meseta.dev/meseta/pkg/master/mastertest"
)

// binPath returns a file of the repository's bin/ (MESETA_BIN overrides the
// directory); a missing one fails the test: build it with `make bin/runc images`.
func binPath(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("MESETA_BIN")
	if dir == "" {
		dir, _ = filepath.Abs("../../bin")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found (run `make bin/runc images` or set MESETA_BIN): %v", p, err)
	}
	return p
}

// agentEnv is a real master and a real agent, in this process, running real
// runc containers.
type agentEnv struct {
	t         testing.TB
	master    *mastertest.Master
	client    client.Client
	node      string
	namespace string
	workDir   string
	image     string
	runc      string
	agent     *agent.Agent
	stop      context.CancelFunc
}

var nodeSeq atomic.Int32

// newAgentEnv starts a master and an agent with 2 cpus and 1Gi of memory, and
// a namespace for the test's tasks.
func newAgentEnv(t testing.TB) *agentEnv {
	t.Helper()
	e := &agentEnv{
		t: t, runc: binPath(t, "runc"), image: "oci:" + binPath(t, "images/busybox"),
		node:      fmt.Sprintf("node-%d-%d", os.Getpid(), nodeSeq.Add(1)),
		namespace: "team-a", workDir: t.TempDir(),
	}
	e.master = mastertest.Start(t, mastertest.Options{})
	e.client = e.master.Client(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.namespace}}
	NewWithT(t).Expect(e.client.Create(t.Context(), ns)).To(Succeed())
	e.startAgent(nil)
	t.Cleanup(func() { e.stopAgent(true) })
	return e
}

// startAgent starts an agent on the env's work dir; edit changes its options.
func (e *agentEnv) startAgent(edit func(*agent.Options)) {
	e.t.Helper()
	o := agent.NewOptions()
	o.RESTConfig = e.master.RESTConfig()
	o.NodeName, o.WorkDir, o.Runtime = e.node, e.workDir, e.runc
	o.Resources = "cpus:2;mem:1Gi;disk:1Gi;ports:[31000-32000]"
	o.BindAddress, o.Address, o.Port = "127.0.0.1", "127.0.0.1", 0
	o.HeartbeatInterval, o.LeaseDuration = time.Second, 10*time.Second
	if edit != nil {
		edit(o)
	}
	completed, err := o.Complete()
	if err == nil {
		err = completed.Validate()
	}
	var cfg *agent.Config
	if err == nil {
		cfg, err = completed.Config()
	}
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), klog.Background()))
	a, err := agent.Start(ctx, cfg)
	if err != nil {
		cancel()
		e.t.Fatalf("failed to start the agent: %v", err)
	}
	e.agent, e.stop = a, cancel
}

// stopAgent stops the agent: with kill, it kills its tasks first (as the dev
// cluster's agent does); without, its containers keep running.
func (e *agentEnv) stopAgent(kill bool) {
	if e.agent == nil {
		return
	}
	if kill {
		// The agent runs with KillTasksOnExit off; kill by deleting every task.
		e.deleteAllTasks()
	}
	e.stop()
	select {
	case <-e.agent.Done():
	case <-time.After(time.Minute):
		e.t.Error("the agent did not stop within a minute")
	}
	e.agent = nil
}

// deleteAllTasks deletes the test's tasks and waits until they are gone, so no
// container outlives the test.
func (e *agentEnv) deleteAllTasks() {
	ctx := context.Background()
	_ = e.client.DeleteAllOf(ctx, &v1alpha1.Task{}, client.InNamespace(e.namespace))
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		list := &v1alpha1.TaskList{}
		if err := e.client.List(ctx, list, client.InNamespace(e.namespace)); err == nil && len(list.Items) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Error("tasks were not deleted within 30s")
}

// task returns a task bound to the env's node that runs script in busybox.
func (e *agentEnv) task(name, script string) *v1alpha1.Task {
	return &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.namespace},
		Spec: v1alpha1.TaskSpec{
			Framework: "test",
			NodeName:  e.node,
			TaskTemplate: v1alpha1.TaskTemplate{
				Resources: v1alpha1.Resources{Cpus: qty("100m"), Mem: qty("64Mi")},
				Container: v1alpha1.Container{Image: e.image, Command: []string{"sh", "-c", script}},
			},
		},
	}
}

// create creates a task placed on the env's node and admits it, as the
// master's admission does for an operator's placement that fits (the test
// master runs no controllers).
func (e *agentEnv) create(t testing.TB, task *v1alpha1.Task) *v1alpha1.Task {
	t.Helper()
	g := NewWithT(t)
	g.Expect(e.client.Create(context.Background(), task)).To(Succeed())
	e.admit(t, task)
	return task
}

// admit sets the task's Bound condition True.
func (e *agentEnv) admit(t testing.TB, task *v1alpha1.Task) {
	t.Helper()
	body := fmt.Sprintf(`{"status":{"conditions":[{"type":%q,"status":"True","reason":"Admitted","message":"placed by the test","lastTransitionTime":%q}]}}`,
		v1alpha1.TaskBoundCondition, time.Now().UTC().Format(time.RFC3339))
	NewWithT(t).Expect(e.client.Status().Patch(context.Background(), task, client.RawPatch(types.MergePatchType, []byte(body)))).To(Succeed())
}

// get reads a task.
func (e *agentEnv) get(name string) *v1alpha1.Task {
	t := &v1alpha1.Task{}
	if err := e.client.Get(context.Background(), types.NamespacedName{Namespace: e.namespace, Name: name}, t); err != nil {
		return nil
	}
	return t
}

// waitState waits until the task is in state and returns it.
func (e *agentEnv) waitState(t testing.TB, name string, state v1alpha1.TaskState, timeout time.Duration) *v1alpha1.Task {
	t.Helper()
	var got *v1alpha1.Task
	NewWithT(t).Eventually(func() v1alpha1.TaskState {
		got = e.get(name)
		if got == nil {
			return ""
		}
		return got.Status.State
	}, timeout, 20*time.Millisecond).Should(Equal(state), func() string { return fmt.Sprintf("task %s: %+v", name, got) })
	return got
}

// sandboxFile reads a file of a task's sandbox.
func sandboxFile(t *v1alpha1.Task, name string) string {
	data, _ := os.ReadFile(filepath.Join(t.Status.Sandbox, name))
	return string(data)
}

// containerExists tells whether the runtime still has state for container id.
func (e *agentEnv) containerExists(id string) bool {
	if id == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(e.workDir, agent.RuntimeDir, "runc", id))
	return err == nil
}

func qty(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}
