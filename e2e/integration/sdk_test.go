package integration

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
	"meseta.dev/meseta/pkg/sdk"
)

// commandScheduler runs each of its commands once, on offers of nodes without
// the attribute bad=true, which it declines for 30s. It learns which tasks
// exist only from StatusUpdate, so it must be told of them after a failover
// before it is offered anything.
type commandScheduler struct {
	names []string
	spec  string

	mu          sync.Mutex
	tasks       map[string]v1alpha1.TaskState
	updates     int
	offerCalls  int
	registered  []*v1alpha1.Framework
	offersFirst bool // ResourceOffers was called before any StatusUpdate of a term
}

func newCommandScheduler(spec string, names ...string) *commandScheduler {
	return &commandScheduler{names: names, spec: spec, tasks: map[string]v1alpha1.TaskState{}}
}

func (s *commandScheduler) Registered(_ context.Context, _ *sdk.Driver, fw *v1alpha1.Framework) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registered = append(s.registered, fw)
}

func (s *commandScheduler) ResourceOffers(_ context.Context, d *sdk.Driver, offers []v1alpha1.Offer) []sdk.Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offerCalls++
	if s.updates == 0 && len(s.tasks) == 0 && s.offerCalls == 1 {
		s.offersFirst = true
	}
	var pending []v1alpha1.Task
	for _, n := range s.names {
		name := sdk.TaskName(d.Framework().Name, n)
		if _, ok := s.tasks[name]; !ok {
			pending = append(pending, sdk.NewTask(name, v1alpha1.TaskTemplate{
				Resources: resources.MustParse(s.spec).ToAPI(),
				Container: v1alpha1.Container{Command: []string{"sh", "-c", "echo " + n}},
			}))
		}
	}
	var out []sdk.Decision
	for _, node := range sdk.GroupByNode(offers) {
		if node.Attributes["bad"] == "true" {
			out = append(out, node.Decisions(sdk.Seconds(30))...)
			continue
		}
		for len(pending) > 0 && node.Add(pending[0]) == nil {
			s.tasks[pending[0].Name] = ""
			pending = pending[1:]
		}
		out = append(out, node.Decisions(nil)...)
	}
	if len(pending) == 0 {
		d.Suppress()
	}
	return out
}

func (s *commandScheduler) StatusUpdate(_ context.Context, _ *sdk.Driver, t *v1alpha1.Task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates++
	s.tasks[t.Name] = t.Status.State
}

func (s *commandScheduler) state(name string) v1alpha1.TaskState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tasks[name]
}

func (s *commandScheduler) updateCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updates
}

func (s *commandScheduler) registrations() []*v1alpha1.Framework {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*v1alpha1.Framework(nil), s.registered...)
}

func getFramework(g Gomega, c client.Client, ns, name string) *v1alpha1.Framework {
	fw := &v1alpha1.Framework{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, fw)).To(Succeed())
	return fw
}

func getLease(g Gomega, c client.Client, ns, name string) *coordinationv1.Lease {
	l := &coordinationv1.Lease{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, l)).To(Succeed())
	return l
}

// TestSdkLaunchDeclineStatus: the driver registers the framework and keeps its
// Lease, launches tasks on offers with owner references and labels, declines
// offers the scheduler filters, delivers task status, suppresses, revives and
// reconciles.
func TestSdkLaunchDeclineStatus(t *testing.T) {
	e := startSDKEnv(t)
	g := NewWithT(t)
	ctx := context.Background()
	const ns = "sdk-a"
	e.namespace(ns)
	sched := newCommandScheduler("cpus:0.5;mem:64Mi", "a", "b")
	d, _ := e.runFramework(sdk.Framework{Name: "runner", Namespace: ns}, sched)

	g.Eventually(func(g Gomega) {
		fw := getFramework(g, e.c, ns, "runner")
		l := getLease(g, e.c, ns, "runner")
		g.Expect(ptr.Deref(l.Spec.HolderIdentity, "")).To(Equal(d.Framework().Identity))
		g.Expect(l.Spec.LeaseDurationSeconds).To(Equal(ptr.To[int32](15)))
		g.Expect(l.OwnerReferences).To(ContainElement(HaveField("UID", fw.UID)), "the lease goes with the framework")
		g.Expect(d.Active()).To(BeTrue())
	}).WithTimeout(20 * time.Second).Should(Succeed())
	fw := getFramework(g, e.c, ns, "runner")
	g.Expect(sched.registrations()).To(HaveLen(1))

	e.offer(ns, "runner", "runner-node-a-1", "node-a", "cpus:1;mem:1Gi", nil)
	e.offer(ns, "runner", "runner-node-x-1", "node-x", "cpus:8;mem:8Gi", map[string]string{"bad": "true"})
	g.Eventually(func(g Gomega) {
		g.Expect(taskNames(e.tasks(ns))).To(Equal([]string{"runner-a", "runner-b"}))
		g.Expect(e.getOffer(ns, "runner-node-x-1").Spec.Decline).To(Equal(&v1alpha1.OfferDecline{RefuseSeconds: ptr.To[int32](30)}))
	}).WithTimeout(10 * time.Second).Should(Succeed())
	for _, task := range e.tasks(ns) {
		g.Expect(task.Spec.Framework).To(Equal("runner"))
		g.Expect(task.Spec.Offers).To(Equal([]string{"runner-node-a-1"}), "both tasks packed on one offer")
		g.Expect(task.Labels).To(HaveKeyWithValue(sdk.LabelFramework, "runner"))
		g.Expect(task.OwnerReferences).To(ConsistOf(HaveField("UID", fw.UID)))
	}
	g.Expect(e.getOffer(ns, "runner-node-a-1").Spec.Decline).To(BeNil(), "a used offer is not declined")
	g.Eventually(func(g Gomega) {
		g.Expect(getFramework(g, e.c, ns, "runner").Spec.Suppressed).To(BeTrue(), "nothing left to launch")
	}).WithTimeout(10 * time.Second).Should(Succeed())

	for _, name := range []string{"runner-a", "runner-b"} {
		e.bind(ns, name)
		e.setState(ns, name, v1alpha1.TaskRunning, nil)
	}
	g.Eventually(func() v1alpha1.TaskState { return sched.state("runner-a") }).Should(Equal(v1alpha1.TaskRunning))
	e.setState(ns, "runner-a", v1alpha1.TaskFinished, ptr.To[int32](0))
	e.setState(ns, "runner-b", v1alpha1.TaskFailed, ptr.To[int32](1))
	g.Eventually(func(g Gomega) {
		g.Expect(sched.state("runner-a")).To(Equal(v1alpha1.TaskFinished))
		g.Expect(sched.state("runner-b")).To(Equal(v1alpha1.TaskFailed))
	}).WithTimeout(10 * time.Second).Should(Succeed())

	d.Revive()
	g.Eventually(func(g Gomega) {
		fw := getFramework(g, e.c, ns, "runner")
		g.Expect(fw.Spec.Suppressed).To(BeFalse())
		g.Expect(fw.Spec.Revive).To(Equal(int64(1)))
	}).WithTimeout(10 * time.Second).Should(Succeed())

	before := sched.updateCount()
	d.Reconcile()
	g.Eventually(sched.updateCount).WithTimeout(10*time.Second).Should(Equal(before+2), "every task once more")

	// Deleting the framework's last tasks tells nothing new; a TaskRemoved
	// handler is optional. The scheduler still runs after it.
	g.Expect(d.Kill(ctx, "runner-a")).To(Succeed())
	g.Expect(d.Kill(ctx, "runner-a")).To(Succeed(), "killing a task that is gone is fine")
}

// TestSdkFailover: a framework process that stops releases its Lease; the next
// one adopts the same Framework, hears of every task before it is offered
// anything, and does not launch a task twice. A process that finds the Lease
// held waits until it expires.
func TestSdkFailover(t *testing.T) {
	e := startSDKEnv(t)
	g := NewWithT(t)
	ctx := context.Background()
	const ns = "sdk-b"
	e.namespace(ns)
	fwCfg := sdk.Framework{Name: "fo", Namespace: ns, FailoverTimeout: time.Minute}

	first := newCommandScheduler("cpus:1", "x", "y", "z")
	_, stop := e.runFramework(fwCfg, first)
	g.Eventually(func(g Gomega) { getFramework(g, e.c, ns, "fo") }).WithTimeout(20 * time.Second).Should(Succeed())
	fw := getFramework(g, e.c, ns, "fo")
	g.Expect(fw.Spec.FailoverTimeout.Duration).To(Equal(time.Minute))
	e.offer(ns, "fo", "fo-n-1", "n", "cpus:1;mem:1Gi", nil)
	g.Eventually(func() []string { return taskNames(e.tasks(ns)) }).WithTimeout(10 * time.Second).Should(Equal([]string{"fo-x"}))
	e.bind(ns, "fo-x")
	e.setState(ns, "fo-x", v1alpha1.TaskRunning, nil)
	g.Eventually(func() v1alpha1.TaskState { return first.state("fo-x") }).WithTimeout(10 * time.Second).Should(Equal(v1alpha1.TaskRunning))

	stop()
	l := getLease(g, e.c, ns, "fo")
	g.Expect(l.Spec.HolderIdentity).To(BeNil(), "released on stop")

	second := newCommandScheduler("cpus:1", "x", "y", "z")
	d2, stop2 := e.runFramework(fwCfg, second)
	g.Eventually(func() v1alpha1.TaskState { return second.state("fo-x") }).WithTimeout(10 * time.Second).Should(Equal(v1alpha1.TaskRunning))
	g.Expect(second.registrations()).To(ConsistOf(HaveField("UID", fw.UID)), "the same Framework is adopted")
	e.offer(ns, "fo", "fo-n-2", "n", "cpus:1;mem:1Gi", nil)
	g.Eventually(func() []string { return taskNames(e.tasks(ns)) }).WithTimeout(10 * time.Second).Should(Equal([]string{"fo-x", "fo-y"}))
	second.mu.Lock()
	g.Expect(second.offersFirst).To(BeFalse(), "status of existing tasks came before offers")
	second.mu.Unlock()
	g.Expect(getFramework(g, e.c, ns, "fo").UID).To(Equal(fw.UID))
	g.Expect(ptr.Deref(getLease(g, e.c, ns, "fo").Spec.HolderIdentity, "")).To(Equal(d2.Framework().Identity))
	stop2()

	// A process that died holding the Lease: the next one waits it out.
	l = getLease(g, e.c, ns, "fo")
	l.Spec.HolderIdentity = ptr.To("ghost")
	l.Spec.LeaseDurationSeconds = ptr.To[int32](3)
	l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now()))
	g.Expect(e.c.Update(ctx, l)).To(Succeed())
	third := newCommandScheduler("cpus:1", "x", "y", "z")
	start := time.Now()
	d3, _ := e.runFramework(fwCfg, third)
	g.Consistently(d3.Active).WithTimeout(1500 * time.Millisecond).Should(BeFalse())
	g.Eventually(d3.Active).WithTimeout(15 * time.Second).Should(BeTrue())
	g.Expect(time.Since(start)).To(BeNumerically(">=", 2*time.Second))
	l = getLease(g, e.c, ns, "fo")
	g.Expect(ptr.Deref(l.Spec.HolderIdentity, "")).To(Equal(d3.Framework().Identity))
	g.Expect(ptr.Deref(l.Spec.LeaseTransitions, 0)).To(BeNumerically(">=", 1))
	g.Expect(taskNames(e.tasks(ns))).To(Equal([]string{"fo-x", "fo-y"}), "nothing launched twice")
}

// TestSdkExampleOneshot builds examples/oneshot and runs it against the test
// master, which the test plays with a fake cluster: every command runs once,
// a failing one makes it exit 1, and it unregisters at the end.
func TestSdkExampleOneshot(t *testing.T) {
	e := startSDKEnv(t)
	g := NewWithT(t)
	const ns = "oneshot-ns"
	e.namespace(ns)
	e.startFakeCluster(ns, "node-1", "cpus:1;mem:1Gi")

	bin := filepath.Join(t.TempDir(), "oneshot")
	build := exec.Command("go", "build", "-o", bin, "meseta.dev/meseta/examples/oneshot")
	out, err := build.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run := exec.CommandContext(ctx, bin, "--kubeconfig", e.m.KubeconfigPath, "--namespace", ns,
		"--resources", "cpus:0.5;mem:64Mi", "echo one", "echo two", "echo three; exit 1")
	out, err = run.CombinedOutput()
	var exit *exec.ExitError
	g.Expect(errors.As(err, &exit)).To(BeTrue(), "exits 1 for the failed command: %v\n%s", err, out)
	g.Expect(exit.ExitCode()).To(Equal(1), string(out))
	g.Expect(string(out)).To(And(
		ContainSubstring("oneshot-0: Finished"),
		ContainSubstring("oneshot-1: Finished"),
		ContainSubstring("oneshot-2: Failed")))
	g.Eventually(func() bool {
		err := e.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "oneshot"}, &v1alpha1.Framework{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(10*time.Second).Should(BeTrue(), "the framework unregistered")
}

// TestSdkSpecWriteRetriedOnConflict: the driver's write of suppression and
// revive that meets a newer version of the Framework (the master writes its
// status at the same moment, as it does right after a registration) is made
// again at once on that version, before the pass goes on to the offers; the
// framework is not left suppressed until a later pass.
func TestSdkSpecWriteRetriedOnConflict(t *testing.T) {
	e := startSDKEnv(t)
	g := NewWithT(t)
	const ns, name = "sdk-conflict", "racer"
	e.namespace(ns)
	e.offer(ns, name, "racer-node-a-1", "node-a", "cpus:1;mem:1Gi", nil)

	// The first spec write of the Framework meets a status write made just
	// before it: the API server refuses it with a conflict.
	var conflicts atomic.Int32
	newClient := func(cfg *rest.Config, opts client.Options) (client.Client, error) {
		c, err := client.NewWithWatch(cfg, opts)
		if err != nil {
			return nil, err
		}
		return interceptor.NewClient(c, interceptor.Funcs{
			Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
				if fw, ok := obj.(*v1alpha1.Framework); ok && conflicts.Load() == 0 {
					bumped := fw.DeepCopy()
					bumped.Status.ObservedGeneration++
					if err := e.c.Status().Update(ctx, bumped); err != nil {
						return err
					}
					err := c.Update(ctx, obj, opts...)
					if apierrors.IsConflict(err) {
						conflicts.Add(1)
					}
					return err
				}
				return c.Update(ctx, obj, opts...)
			},
		}), nil
	}
	sched := &reviveWitness{c: e.c, key: client.ObjectKey{Namespace: ns, Name: name}}
	e.runFrameworkWith(sdk.Framework{Name: name, Namespace: ns}, sched, newClient)

	g.Eventually(sched.firstRevive).WithTimeout(20*time.Second).Should(BeNumerically(">=", 0), "offers delivered")
	g.Expect(conflicts.Load()).To(Equal(int32(1)), "the spec write met a conflict")
	g.Expect(sched.firstRevive()).To(Equal(int64(1)),
		"the revive asked for at registration was written before the offers were handled")
}

// reviveWitness revives at registration and records, when it is first
// offered resources, the spec.revive the API server holds for its Framework.
type reviveWitness struct {
	c   client.Client
	key client.ObjectKey

	mu     sync.Mutex
	revive *int64
}

func (r *reviveWitness) Registered(_ context.Context, d *sdk.Driver, _ *v1alpha1.Framework) {
	d.Revive()
}

func (r *reviveWitness) ResourceOffers(ctx context.Context, _ *sdk.Driver, offers []v1alpha1.Offer) []sdk.Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.revive == nil && len(offers) > 0 {
		fw := &v1alpha1.Framework{}
		if err := r.c.Get(ctx, r.key, fw); err == nil {
			r.revive = &fw.Spec.Revive
		}
	}
	return nil
}

func (r *reviveWitness) StatusUpdate(context.Context, *sdk.Driver, *v1alpha1.Task) {}

// firstRevive is the spec.revive seen at the first offers; -1 before them.
func (r *reviveWitness) firstRevive() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.revive == nil {
		return -1
	}
	return *r.revive
}
