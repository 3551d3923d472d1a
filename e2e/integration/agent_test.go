package integration

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/logs"
	"meseta.dev/meseta/pkg/agent/tasks"
	"meseta.dev/meseta/pkg/freeport"
	"meseta.dev/meseta/pkg/master"
)

// TestAgent runs real tasks in real runc containers through a real master and
// agent: exit states, kills, overcommit, health checks, logs.
func TestAgent(t *testing.T) {
	e := newAgentEnv(t)

	t.Run("registers its node and renews its lease", func(t *testing.T) {
		g := NewWithT(t)
		n := &v1alpha1.Node{}
		g.Expect(e.client.Get(t.Context(), types.NamespacedName{Name: e.node}, n)).To(Succeed())
		g.Expect(n.Status.Capacity.Cpus.String()).To(Equal("2"))
		g.Expect(n.Status.Allocatable.Mem.String()).To(Equal("1Gi"))
		g.Expect(n.Status.Address).To(Equal("127.0.0.1"))
		g.Expect(n.Status.DaemonPort).To(BeEquivalentTo(e.agent.Port()))
		g.Expect(n.Status.DaemonCABundle).To(ContainSubstring("BEGIN CERTIFICATE"))
		g.Expect(n.Status.Runtime).To(HavePrefix("runc "))
		g.Expect(n.IsReady()).To(BeTrue())
		lease := &coordinationv1.Lease{}
		key := types.NamespacedName{Namespace: master.SystemNamespace, Name: e.node}
		g.Expect(e.client.Get(t.Context(), key, lease)).To(Succeed())
		g.Expect(*lease.Spec.HolderIdentity).To(Equal(e.node))
		g.Expect(*lease.Spec.LeaseDurationSeconds).To(BeEquivalentTo(10))
		first := lease.Spec.RenewTime.Time
		g.Eventually(func() time.Time {
			_ = e.client.Get(t.Context(), key, lease)
			return lease.Spec.RenewTime.Time
		}, 5*time.Second, 100*time.Millisecond).Should(BeTemporally(">", first))
	})

	t.Run("exit states", func(t *testing.T) {
		tests := []struct {
			name       string
			task       *v1alpha1.Task
			state      v1alpha1.TaskState
			reason     v1alpha1.TaskReason
			exitCode   *int32
			stdout     string
			message    string
			containers bool
		}{
			{name: "echo", task: e.task("echo", "echo hello"), state: v1alpha1.TaskFinished, exitCode: ptr.To[int32](0), stdout: "hello\n", containers: true},
			{name: "exit3", task: e.task("exit3", "echo bye >&2; exit 3"), state: v1alpha1.TaskFailed, reason: v1alpha1.ReasonCommandExecutorFailed, exitCode: ptr.To[int32](3), containers: true},
			{name: "oom", task: withMem(e.task("oom", "tail /dev/zero"), "32Mi"), state: v1alpha1.TaskFailed, reason: v1alpha1.ReasonContainerLimitation, message: "memory limit", containers: true},
			{name: "env-and-pid", task: withEnv(e.task("env", `echo "$$ $MODE $MESETA_TASK_NAME $(pwd)"`), "MODE", "fast"), state: v1alpha1.TaskFinished, stdout: "1 fast env /mnt/sandbox\n", containers: true},
			{name: "missing image", task: withImage(e.task("noimage", "true"), "oci:/nonexistent/image"), state: v1alpha1.TaskFailed, reason: v1alpha1.ReasonImagePullFailed, message: "/nonexistent/image"},
			{name: "bad image reference", task: withImage(e.task("badref", "true"), "Bad:Ref:x"), state: v1alpha1.TaskError, reason: v1alpha1.ReasonTaskInvalid, message: "spec.container.image"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				g := NewWithT(t)
				w := e.watchStates(t, tt.task.Name)
				e.create(t, tt.task)
				got := e.waitState(t, tt.task.Name, tt.state, time.Minute)
				g.Expect(got.Status.Reason).To(Equal(tt.reason), got.Status.Message)
				g.Expect(got.Status.Message).To(ContainSubstring(tt.message))
				if tt.exitCode != nil {
					g.Expect(got.Status.ExitCode).To(Equal(tt.exitCode))
				}
				g.Expect(got.Status.FinishedAt).NotTo(BeNil())
				if tt.containers {
					g.Expect(got.Status.ContainerID).To(Equal(tasks.ContainerID(got.Namespace, got.Name, got.UID)))
					g.Expect(got.Status.StartedAt).NotTo(BeNil())
					g.Eventually(w.states, 5*time.Second).Should(Equal([]v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting, v1alpha1.TaskRunning, tt.state}))
					g.Eventually(func() []string { return e.get(tt.task.Name).Finalizers }, 10*time.Second, 50*time.Millisecond).Should(BeEmpty())
					g.Expect(e.containerExists(got.Status.ContainerID)).To(BeFalse())
				}
				if tt.stdout != "" {
					g.Expect(sandboxFile(got, "stdout")).To(Equal(tt.stdout))
				}
				// Once terminal, the container is removed and the finalizer with it.
				g.Eventually(func() []string { return e.get(tt.task.Name).Finalizers }, 10*time.Second, 50*time.Millisecond).Should(BeEmpty())
			})
		}
	})

	t.Run("delete kills with SIGTERM", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		w := e.watchStates(t, "term")
		tk := e.create(t, e.task("term", `trap "echo got TERM; exit 0" TERM; echo up; while true; do sleep 0.1; done`))
		got := e.waitState(t, tk.Name, v1alpha1.TaskRunning, time.Minute)
		g.Expect(got.Finalizers).To(ContainElement(v1alpha1.TaskFinalizer))
		g.Expect(e.client.Delete(t.Context(), got)).To(Succeed())
		g.Eventually(func() *v1alpha1.Task { return e.get(tk.Name) }, 30*time.Second, 50*time.Millisecond).Should(BeNil())
		last := w.last()
		g.Expect(last.Status.State).To(Equal(v1alpha1.TaskKilled))
		g.Expect(last.Status.Reason).To(Equal(v1alpha1.ReasonKillRequested))
		g.Expect(sandboxFile(last, "stdout")).To(Equal("up\ngot TERM\n"))
		g.Expect(e.containerExists(got.Status.ContainerID)).To(BeFalse())
	})

	t.Run("delete kills with SIGKILL after the grace period", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		w := e.watchStates(t, "stubborn")
		tk := e.task("stubborn", `trap "" TERM; echo up; while true; do sleep 0.1; done`)
		tk.Spec.KillGracePeriod = &metav1.Duration{Duration: 2 * time.Second}
		e.create(t, tk)
		got := e.waitState(t, tk.Name, v1alpha1.TaskRunning, time.Minute)
		g.Eventually(func() string { return sandboxFile(got, "stdout") }, 10*time.Second).Should(Equal("up\n"))
		deleted := time.Now()
		g.Expect(e.client.Delete(t.Context(), got)).To(Succeed())
		g.Eventually(func() *v1alpha1.Task { return e.get(tk.Name) }, 30*time.Second, 50*time.Millisecond).Should(BeNil())
		g.Expect(time.Since(deleted)).To(BeNumerically(">=", 2*time.Second))
		g.Expect(w.states()).To(ContainElement(v1alpha1.TaskKilling))
		last := w.last()
		g.Expect(last.Status.State).To(Equal(v1alpha1.TaskKilled))
		g.Expect(last.Status.Signal).To(Equal(ptr.To[int32](9)))
	})

	t.Run("overcommit is refused", func(t *testing.T) {
		// Not parallel: it fills the node.
		g := NewWithT(t)
		big := e.task("big", "sleep 1000")
		big.Spec.Resources.Cpus = qty("1500m")
		e.create(t, big)
		e.waitState(t, big.Name, v1alpha1.TaskRunning, time.Minute)
		over := e.task("over", "sleep 1000")
		over.Spec.Resources.Cpus = qty("1")
		e.create(t, over)
		got := e.waitState(t, over.Name, v1alpha1.TaskError, time.Minute)
		g.Expect(got.Status.Reason).To(Equal(v1alpha1.ReasonOvercommitted))
		g.Expect(got.Status.Message).To(ContainSubstring("cpus"))
		g.Expect(got.Status.ContainerID).To(BeEmpty())
		g.Expect(e.client.Delete(t.Context(), big)).To(Succeed())
		g.Eventually(func() *v1alpha1.Task { return e.get(big.Name) }, 30*time.Second, 50*time.Millisecond).Should(BeNil())
	})

	t.Run("a task terminal in the API gets its container killed", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		got := e.waitState(t, e.create(t, e.task("lost", "sleep 1000")).Name, v1alpha1.TaskRunning, time.Minute)
		// The master declares the task Lost, as after a long partition.
		patch := client.RawPatch(types.MergePatchType, []byte(`{"status":{"state":"Lost","reason":"AgentRemoved"}}`))
		g.Expect(e.client.Status().Patch(t.Context(), got, patch)).To(Succeed())
		g.Eventually(func() []string { return e.get(got.Name).Finalizers }, 30*time.Second, 50*time.Millisecond).Should(BeEmpty())
		g.Expect(e.containerExists(got.Status.ContainerID)).To(BeFalse())
		g.Expect(e.get(got.Name).Status.State).To(Equal(v1alpha1.TaskLost))
	})

	t.Run("an Unreachable task that still runs is reported Running again", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		got := e.waitState(t, e.create(t, e.task("partitioned", "sleep 1000")).Name, v1alpha1.TaskRunning, time.Minute)
		patch := client.RawPatch(types.MergePatchType, []byte(`{"status":{"state":"Unreachable","reason":"AgentDisconnected"}}`))
		g.Expect(e.client.Status().Patch(t.Context(), got, patch)).To(Succeed())
		back := e.waitState(t, got.Name, v1alpha1.TaskRunning, 30*time.Second)
		g.Expect(back.Status.ContainerID).To(Equal(got.Status.ContainerID))
		g.Expect(back.Status.Reason).To(BeEmpty())
	})

	t.Run("health checks", func(t *testing.T) {
		port := freeport.Local(t)
		tests := []struct {
			name    string
			script  string
			check   v1alpha1.HealthCheck
			healthy bool
			state   v1alpha1.TaskState
		}{
			{
				name:   "http-httpd",
				script: fmt.Sprintf("echo ok > /mnt/sandbox/index.html; exec httpd -f -p 127.0.0.1:%d -h /mnt/sandbox", port),
				check: v1alpha1.HealthCheck{Type: v1alpha1.HealthCheckHTTP, HTTP: &v1alpha1.HTTPHealthCheck{Port: int32(port), Path: "/index.html"},
					Delay: dur(0), Interval: dur(500 * time.Millisecond), Timeout: dur(2 * time.Second)},
				healthy: true, state: v1alpha1.TaskRunning,
			},
			{
				name:    "command-true",
				script:  "exec sleep 1000",
				check:   v1alpha1.HealthCheck{Type: v1alpha1.HealthCheckCommand, Command: []string{"true"}, Delay: dur(0), Interval: dur(time.Second)},
				healthy: true, state: v1alpha1.TaskRunning,
			},
			{
				name:   "tcp-nobody-listens",
				script: "exec sleep 1000",
				check: v1alpha1.HealthCheck{Type: v1alpha1.HealthCheckTCP, TCP: &v1alpha1.TCPHealthCheck{Port: int32(freeport.Local(t))},
					Delay: dur(0), Interval: dur(300 * time.Millisecond), GracePeriod: dur(0), ConsecutiveFailures: ptr.To[int32](2)},
				healthy: false, state: v1alpha1.TaskFailed,
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				g := NewWithT(t)
				tk := e.task(tt.name, tt.script)
				check := tt.check
				tk.Spec.HealthCheck = &check
				tk.Spec.KillGracePeriod = dur(time.Second)
				e.create(t, tk)
				var got *v1alpha1.Task
				g.Eventually(func() *bool {
					got = e.get(tk.Name)
					return got.Status.Healthy
				}, time.Minute, 50*time.Millisecond).Should(Equal(ptr.To(tt.healthy)), func() string { return fmt.Sprintf("%+v", got.Status) })
				got = e.waitState(t, tk.Name, tt.state, 30*time.Second)
				if tt.state == v1alpha1.TaskFailed {
					g.Expect(got.Status.Reason).To(Equal(v1alpha1.ReasonHealthCheckFailed))
					return
				}
				cond := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.TaskHealthyCondition)
				g.Expect(cond).NotTo(BeNil())
				g.Expect(cond.Status).To(Equal(metav1.ConditionTrue))
				g.Expect(e.client.Delete(t.Context(), got)).To(Succeed())
			})
		}
	})

	t.Run("logs through the agent endpoint", func(t *testing.T) {
		t.Parallel()
		g := NewWithT(t)
		tk := e.create(t, e.task("chatty", "for i in 1 2 3; do echo line $i; echo err $i >&2; sleep 0.3; done"))
		e.waitState(t, tk.Name, v1alpha1.TaskRunning, time.Minute)
		n := &v1alpha1.Node{}
		g.Expect(e.client.Get(t.Context(), types.NamespacedName{Name: e.node}, n)).To(Succeed())
		var out bytes.Buffer
		g.Expect(logs.Fetch(t.Context(), e.master.RESTConfig(), n, e.namespace, tk.Name, logs.Options{Follow: true}, &out)).To(Succeed())
		g.Expect(out.String()).To(Equal("line 1\nline 2\nline 3\n"))
		out.Reset()
		g.Expect(logs.Fetch(t.Context(), e.master.RESTConfig(), n, e.namespace, tk.Name, logs.Options{Stream: logs.Stderr}, &out)).To(Succeed())
		g.Expect(out.String()).To(Equal("err 1\nerr 2\nerr 3\n"))
		// A service account without RBAC is authenticated by its token and refused.
		token := e.serviceAccountToken(t, "nobody")
		anon := rest.AnonymousClientConfig(e.master.RESTConfig())
		anon.BearerToken = token
		err := logs.Fetch(t.Context(), anon, n, e.namespace, tk.Name, logs.Options{}, &out)
		g.Expect(err).To(MatchError(ContainSubstring("403 Forbidden")))
		g.Expect(err).To(MatchError(ContainSubstring("system:serviceaccount:team-a:nobody")))
		// No credentials at all: unauthorized.
		err = logs.Fetch(t.Context(), rest.AnonymousClientConfig(e.master.RESTConfig()), n, e.namespace, tk.Name, logs.Options{}, &out)
		g.Expect(err).To(MatchError(ContainSubstring("401 Unauthorized")))
	})
}

// TestAgentRestart stops an agent while its tasks run and starts another on the
// same work dir: the running container is re-adopted (not run again), a task
// that finished meanwhile gets its true exit status, a task deleted meanwhile
// is killed, and the container of a task that vanished from the API is removed.
func TestAgentRestart(t *testing.T) {
	e := newAgentEnv(t)
	g := NewWithT(t)
	ctx := t.Context()
	running := e.waitState(t, e.create(t, e.task("keeps-running", "echo start; exec sleep 1000")).Name, v1alpha1.TaskRunning, time.Minute)
	finishes := e.waitState(t, e.create(t, e.task("finishes", "sleep 2; echo done; exit 7")).Name, v1alpha1.TaskRunning, time.Minute)
	deleted := e.waitState(t, e.create(t, e.task("deleted", "exec sleep 1000")).Name, v1alpha1.TaskRunning, time.Minute)
	vanished := e.waitState(t, e.create(t, e.task("vanished", "exec sleep 1000")).Name, v1alpha1.TaskRunning, time.Minute)

	e.stopAgent(false)
	g.Expect(e.client.Delete(ctx, deleted)).To(Succeed())
	// A task removed by force (finalizer stripped) while the agent is down.
	g.Expect(e.client.Delete(ctx, vanished)).To(Succeed())
	g.Expect(e.client.Patch(ctx, e.get(vanished.Name), client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`)))).To(Succeed())
	g.Eventually(func() *v1alpha1.Task { return e.get(vanished.Name) }, 10*time.Second).Should(BeNil())
	time.Sleep(3 * time.Second) // "finishes" exits while no agent runs
	g.Expect(e.containerExists(running.Status.ContainerID)).To(BeTrue())

	e.startAgent(nil)
	done := e.waitState(t, finishes.Name, v1alpha1.TaskFailed, time.Minute)
	g.Expect(done.Status.ExitCode).To(Equal(ptr.To[int32](7)))
	g.Expect(sandboxFile(done, "stdout")).To(Equal("done\n"))
	g.Eventually(func() *v1alpha1.Task { return e.get(deleted.Name) }, 30*time.Second, 50*time.Millisecond).Should(BeNil())
	g.Eventually(func() bool { return e.containerExists(vanished.Status.ContainerID) }, 30*time.Second, 50*time.Millisecond).Should(BeFalse())
	g.Expect(e.containerExists(deleted.Status.ContainerID)).To(BeFalse())

	again := e.get(running.Name)
	g.Expect(again.Status.State).To(Equal(v1alpha1.TaskRunning))
	g.Expect(again.Status.ContainerID).To(Equal(running.Status.ContainerID))
	g.Consistently(func() string { return sandboxFile(again, "stdout") }, 2*time.Second, 200*time.Millisecond).Should(Equal("start\n"))
}

// stateWatcher records the statuses a task goes through.
type stateWatcher struct {
	mu       sync.Mutex
	statuses []*v1alpha1.Task
}

// watchStates watches the task name (before it exists) and records every
// distinct state it shows.
func (e *agentEnv) watchStates(t *testing.T, name string) *stateWatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sw := &stateWatcher{}
	err := watchTasks(ctx, e.master.RESTConfig(), func(tk *v1alpha1.Task) {
		if tk.Status.State == "" {
			return
		}
		sw.mu.Lock()
		if n := len(sw.statuses); n == 0 || sw.statuses[n-1].Status.State != tk.Status.State {
			sw.statuses = append(sw.statuses, tk)
		}
		sw.mu.Unlock()
	}, client.InNamespace(e.namespace), client.MatchingFields{"metadata.name": name})
	if err != nil {
		t.Fatal(err)
	}
	return sw
}

func (w *stateWatcher) states() []v1alpha1.TaskState {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []v1alpha1.TaskState
	for _, t := range w.statuses {
		out = append(out, t.Status.State)
	}
	return out
}

func (w *stateWatcher) last() *v1alpha1.Task {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.statuses) == 0 {
		return &v1alpha1.Task{}
	}
	return w.statuses[len(w.statuses)-1]
}

// serviceAccountToken creates a service account in the env's namespace and
// returns a token of it.
func (e *agentEnv) serviceAccountToken(t *testing.T, name string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(e.master.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cs.CoreV1().ServiceAccounts(e.namespace).Create(t.Context(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(e.namespace).CreateToken(t.Context(), name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitTokenAuthenticated(t, cs, name, tr.Status.Token)
	return tr.Status.Token
}

func withMem(t *v1alpha1.Task, mem string) *v1alpha1.Task {
	t.Spec.Resources.Mem = qty(mem)
	return t
}

func withEnv(t *v1alpha1.Task, name, value string) *v1alpha1.Task {
	t.Spec.Container.Env = append(t.Spec.Container.Env, v1alpha1.EnvVar{Name: name, Value: value})
	return t
}

func withImage(t *v1alpha1.Task, image string) *v1alpha1.Task {
	t.Spec.Container.Image = image
	return t
}

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
