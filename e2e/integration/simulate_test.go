package integration

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/controllers"
	"meseta.dev/meseta/pkg/agent/simulate"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/master/mastertest"
	"meseta.dev/meseta/pkg/resources"
)

// TestSimulatedAgents runs 50 simulated nodes against a master with every
// controller: the nodes register, Ready, with a Lease each; a Job of sleeping
// tasks completes on them, a Job whose command exits 3 fails with that exit
// code, and a task that runs forever is killed, its final status written,
// when it is deleted. A bound task and a renewed Lease carry no
// managedFields (v1alpha1.ResetManagedFields). The nodes speak as their
// agents would (NodeIdentities): all of it passes the node-restriction
// policy, and the master's priority and fairness files their requests under
// the nodes' flow schemas.
func TestSimulatedAgents(t *testing.T) {
	g := NewWithT(t)
	m := mastertest.Start(t, mastertest.Options{Controllers: controllers.All()})
	c := m.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	nodes := simulate.NodeNames("simtest", 50)
	f, err := simulate.NewFleet(simulate.Config{REST: m.RESTConfig(), Nodes: nodes,
		Allocatable: resources.MustParse("cpus:2;mem:4Gi").ToAPI(), NodeIdentities: true})
	g.Expect(err).NotTo(HaveOccurred())
	go func() { _ = f.Run(ctx) }()
	g.Eventually(f.Ready(), time.Minute).Should(BeClosed())

	n := &v1alpha1.Node{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: nodes[49]}, n)).To(Succeed())
	g.Expect(meta.IsStatusConditionTrue(n.Status.Conditions, v1alpha1.NodeReadyCondition)).To(BeTrue())
	g.Expect(n.Status.Runtime).To(Equal(simulate.RuntimeName))
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: simulate.LeaseNamespace, Name: nodes[49]}, &coordinationv1.Lease{})).To(Succeed())
	// Each node watches its own tasks, as a real agent does: the master
	// serves at least one task watch per node.
	g.Expect(metricSum(ctx, g, m.RESTConfig(), "apiserver_longrunning_requests", `resource="tasks"`, `verb="WATCH"`)).
		To(BeNumerically(">=", len(nodes)), "task watches the master serves")

	const ns = "sim"
	g.Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	seen := watchBoundStates(ctx, g, m.RESTConfig(), ns)
	ok := newJob(ns, "sleepy", "sleep 1", func(s *v1alpha1.JobSpec) { s.Completions, s.Parallelism = ptr.To(int32(20)), ptr.To(int32(20)) })
	bad := newJob(ns, "bad", "exit 3", func(s *v1alpha1.JobSpec) { s.BackoffLimit = ptr.To(int32(0)) })
	forever := newJob(ns, "forever", "httpd -f", nil)
	for _, j := range []*v1alpha1.Job{ok, bad, forever} {
		g.Expect(c.Create(ctx, j)).To(Succeed())
	}
	g.Eventually(func(g Gomega) {
		g.Expect(meta.IsStatusConditionTrue(getJob(g, c, ns, "sleepy").Status.Conditions, v1alpha1.JobCompleteCondition)).To(BeTrue())
		g.Expect(meta.IsStatusConditionTrue(getJob(g, c, ns, "bad").Status.Conditions, v1alpha1.JobFailedCondition)).To(BeTrue())
	}, time.Minute, 200*time.Millisecond).Should(Succeed())
	// The write that binds a task stages it: the first version of each task
	// with a node is already Staging; its agent then writes Starting,
	// Running and Finished, one write each.
	for i := range 20 {
		name := fmt.Sprintf("sleepy-%d-0", i)
		g.Eventually(func() []v1alpha1.TaskState { return seen.of(name) }, 10*time.Second, 50*time.Millisecond).Should(Equal([]v1alpha1.TaskState{
			v1alpha1.TaskStaging, v1alpha1.TaskStarting, v1alpha1.TaskRunning, v1alpha1.TaskFinished}), "task %s", name)
	}
	failed := &v1alpha1.Task{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "bad-0-0"}, failed)).To(Succeed())
	g.Expect(failed.Status.State).To(Equal(v1alpha1.TaskFailed))
	g.Expect(failed.Status.ExitCode).To(HaveValue(Equal(int32(3))))

	running := &v1alpha1.Task{}
	key := client.ObjectKey{Namespace: ns, Name: "forever-0-0"}
	g.Eventually(func(g Gomega) {
		g.Expect(c.Get(ctx, key, running)).To(Succeed())
		g.Expect(running.Status.State).To(Equal(v1alpha1.TaskRunning))
		g.Expect(running.Finalizers).To(ContainElement(v1alpha1.TaskFinalizer))
	}, time.Minute, 200*time.Millisecond).Should(Succeed())
	g.Expect(running.ManagedFields).To(BeEmpty(), "stored without them; its status writes are untracked")
	g.Eventually(func(g Gomega) {
		lease := &coordinationv1.Lease{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: simulate.LeaseNamespace, Name: nodes[49]}, lease)).To(Succeed())
		g.Expect(lease.Spec.RenewTime.Time).To(BeTemporally(">", lease.Spec.AcquireTime.Time), "renewed since it was created")
		g.Expect(lease.ManagedFields).To(BeEmpty(), "the first renewal cleared them")
	}, time.Minute, time.Second).Should(Succeed())
	g.Expect(c.Delete(ctx, &v1alpha1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "forever"}})).To(Succeed())
	g.Expect(c.Delete(ctx, running)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(c.Get(ctx, key, &v1alpha1.Task{}))
	}, time.Minute, 200*time.Millisecond).Should(BeTrue(), "the finalizer is removed once the task is reported Killed")

	g.Expect(dispatchedAsNodes(ctx, g, m.RESTConfig())).To(BeNumerically(">=", 3*len(nodes)),
		"each node's registration, Lease and status went through the nodes' flow schema")
}

// boundStates records, per task, the state of each version written since
// the task was bound: one entry per write that changed the state, the first
// from the version that bound it.
type boundStates struct {
	mu     sync.Mutex
	states map[string][]v1alpha1.TaskState
}

func (b *boundStates) of(name string) []v1alpha1.TaskState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.states[name])
}

// watchBoundStates watches the tasks of namespace ns until ctx ends.
func watchBoundStates(ctx context.Context, g Gomega, rc *rest.Config, ns string) *boundStates {
	b := &boundStates{states: map[string][]v1alpha1.TaskState{}}
	g.Expect(watchTasks(ctx, rc, func(t *v1alpha1.Task) {
		if t.Spec.NodeName == "" {
			return
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if seen := b.states[t.Name]; len(seen) == 0 || seen[len(seen)-1] != t.Status.State {
			b.states[t.Name] = append(seen, t.Status.State)
		}
	}, client.InNamespace(ns))).To(Succeed())
	return b
}

// watchTasks watches the tasks opts select until ctx ends, and hands the
// task of each event to onTask, in order, from one goroutine.
func watchTasks(ctx context.Context, rc *rest.Config, onTask func(*v1alpha1.Task), opts ...client.ListOption) error {
	wc, err := client.NewWithWatch(rc, client.Options{Scheme: master.Scheme})
	if err != nil {
		return err
	}
	w, err := wc.Watch(ctx, &v1alpha1.TaskList{}, opts...)
	if err != nil {
		return err
	}
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			if t, ok := ev.Object.(*v1alpha1.Task); ok {
				onTask(t)
			}
		}
	}()
	return nil
}

// dispatchedAsNodes returns how many requests the master's priority and
// fairness dispatched under the nodes' flow schemas (meseta-nodes and
// meseta-node-heartbeats).
func dispatchedAsNodes(ctx context.Context, g Gomega, rc *rest.Config) float64 {
	return metricSum(ctx, g, rc, "apiserver_flowcontrol_dispatched_requests_total", `flow_schema="meseta-node`)
}

// metricSum returns the sum of the master's samples of the metric name whose
// labels hold every one of labels (as written in the exposition).
func metricSum(ctx context.Context, g Gomega, rc *rest.Config, name string, labels ...string) float64 {
	cs, err := kubernetes.NewForConfig(rc)
	g.Expect(err).NotTo(HaveOccurred())
	raw, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	var total float64
	for line := range strings.Lines(string(raw)) {
		if !strings.HasPrefix(line, name+"{") || !containsAll(line, labels) {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		g.Expect(err).NotTo(HaveOccurred())
		total += v
	}
	return total
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestHeartbeatPace runs four simulated nodes that renew every second against
// a master whose node timeout is 3s and whose budget is 0.2 renewals a
// second: the master publishes a pace of one renewal every 20s with a node
// timeout of a minute (v1alpha1.NodeHeartbeatConfigMap), the agents, who may
// read it, adopt it and say so on their Leases, and the master waits for them
// past its own node timeout: they stay Ready though silent for longer.
func TestHeartbeatPace(t *testing.T) {
	g := NewWithT(t)
	sched := master.NewOptions().Scheduling
	sched.NodeTimeout, sched.MaxNodeHeartbeatsPerSecond = 3*time.Second, 0.2
	m := mastertest.Start(t, mastertest.Options{Controllers: []master.ControllerSetup{controllers.NodeLifecycle}, Scheduling: &sched})
	c := m.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	nodes := simulate.NodeNames("paced", 4)
	f, err := simulate.NewFleet(simulate.Config{REST: m.RESTConfig(), Nodes: nodes, NodeIdentities: true,
		Allocatable:       resources.MustParse("cpus:2;mem:4Gi").ToAPI(),
		HeartbeatInterval: time.Second, LeaseDuration: 3 * time.Second, StatusInterval: time.Second})
	g.Expect(err).NotTo(HaveOccurred())
	go func() { _ = f.Run(ctx) }()
	g.Eventually(f.Ready(), time.Minute).Should(BeClosed())

	g.Eventually(func(g Gomega) {
		cm := &corev1.ConfigMap{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: simulate.LeaseNamespace, Name: v1alpha1.NodeHeartbeatConfigMap}, cm)).To(Succeed())
		g.Expect(cm.Data).To(Equal(map[string]string{"nodes": "4", "maxHeartbeatsPerSecond": "0.2", "interval": "20s", "nodeTimeout": "1m0s"}))
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	g.Eventually(func(g Gomega) {
		for _, n := range nodes {
			lease := &coordinationv1.Lease{}
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: simulate.LeaseNamespace, Name: n}, lease)).To(Succeed())
			g.Expect(lease.Annotations).To(HaveKeyWithValue(v1alpha1.NodeTimeoutAnnotation, "1m0s"), n)
			g.Expect(*lease.Spec.LeaseDurationSeconds).To(Equal(int32(60)), "3s stretched as 1s to 20s")
		}
	}, 30*time.Second, 200*time.Millisecond).Should(Succeed())

	// Silent for more than twice the master's own node timeout, the nodes
	// are still Ready: the master waits for them the minute they said.
	time.Sleep(7 * time.Second)
	for _, name := range nodes {
		n := &v1alpha1.Node{}
		g.Expect(c.Get(ctx, client.ObjectKey{Name: name}, n)).To(Succeed())
		g.Expect(n.Status.Phase).To(Equal(v1alpha1.NodeReady), name)
		lease := &coordinationv1.Lease{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: simulate.LeaseNamespace, Name: name}, lease)).To(Succeed())
		g.Expect(time.Since(lease.Spec.RenewTime.Time)).To(BeNumerically(">", 3*time.Second),
			"%s renews at the master's pace, not every second", name)
	}
}
