package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/master/mastertest"
	"meseta.dev/meseta/pkg/resources"
	"meseta.dev/meseta/pkg/sdk"
)

// sdkEnv is a master without the offer, binding and agent controllers: the
// test plays them itself (making offers, binding tasks, writing their status)
// to drive frameworks written with the SDK against the real API server.
type sdkEnv struct {
	t *testing.T
	m *mastertest.Master
	c client.Client
}

func startSDKEnv(t *testing.T, controllers ...master.ControllerSetup) *sdkEnv {
	t.Helper()
	m := mastertest.Start(t, mastertest.Options{Controllers: controllers})
	return &sdkEnv{t: t, m: m, c: m.Client(t)}
}

func (e *sdkEnv) namespace(name string) {
	e.t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := e.c.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		e.t.Fatal(err)
	}
}

// runFramework runs a framework in a manager of its own, as a separate
// framework process would; stop ends it and waits until it has released its
// lease.
func (e *sdkEnv) runFramework(fw sdk.Framework, sched sdk.Scheduler) (d *sdk.Driver, stop func()) {
	e.t.Helper()
	return e.runFrameworkWith(fw, sched, nil)
}

// runFrameworkWith is runFramework with the manager's client made by
// newClient (nil: the default).
func (e *sdkEnv) runFrameworkWith(fw sdk.Framework, sched sdk.Scheduler, newClient client.NewClientFunc) (d *sdk.Driver, stop func()) {
	e.t.Helper()
	mgr, err := ctrl.NewManager(e.m.RESTConfig(), ctrl.Options{
		Scheme:                 sdk.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		NewClient:              newClient,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	d, err = sdk.Register(mgr, fw, sched)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			e.t.Errorf("framework manager: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	e.t.Cleanup(stop)
	return d, stop
}

// offer makes an offer as the master does.
func (e *sdkEnv) offer(ns, fw, name, node, spec string, attrs map[string]string) *v1alpha1.Offer {
	e.t.Helper()
	o := &v1alpha1.Offer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	o.Spec.Framework, o.Spec.NodeName = fw, node
	o.Spec.Resources = resources.MustParse(spec).ToAPI()
	o.Spec.Attributes = attrs
	NewWithT(e.t).Expect(e.c.Create(context.Background(), o)).To(Succeed())
	return o
}

// bind binds a task to the node of its offers and accepts them, as the master
// does after checking them.
func (e *sdkEnv) bind(ns, name string) {
	e.t.Helper()
	ctx := context.Background()
	g := NewWithT(e.t)
	task := &v1alpha1.Task{}
	g.Expect(e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, task)).To(Succeed())
	node := ""
	for _, on := range task.Spec.Offers {
		o := &v1alpha1.Offer{}
		g.Expect(e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: on}, o)).To(Succeed())
		node = o.Spec.NodeName
		o.Status.Phase = v1alpha1.OfferAccepted
		o.Status.Reason = v1alpha1.OfferReasonTasksLaunched
		g.Expect(e.c.Status().Update(ctx, o)).To(Succeed())
	}
	task.Spec.NodeName = node
	g.Expect(e.c.Update(ctx, task)).To(Succeed())
	e.setState(ns, name, v1alpha1.TaskStaging, nil)
}

// setState writes a task's state as its agent does, again on a conflict
// (another writer, such as a framework's kill, came first).
func (e *sdkEnv) setState(ns, name string, state v1alpha1.TaskState, exitCode *int32) {
	e.t.Helper()
	ctx := context.Background()
	NewWithT(e.t).Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		task := &v1alpha1.Task{}
		if err := e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, task); err != nil {
			return err
		}
		setTaskState(task, state, exitCode)
		return e.c.Status().Update(ctx, task)
	})).To(Succeed())
}

func setTaskState(task *v1alpha1.Task, state v1alpha1.TaskState, exitCode *int32) {
	now := metav1.Now()
	task.Status.State = state
	task.Status.ExitCode = exitCode
	switch {
	case state == v1alpha1.TaskRunning:
		task.Status.StartedAt = &now
	case state.IsTerminal():
		task.Status.FinishedAt = &now
		if state == v1alpha1.TaskFailed {
			task.Status.Reason = v1alpha1.ReasonCommandExecutorFailed
		}
	}
}

func (e *sdkEnv) getOffer(ns, name string) *v1alpha1.Offer {
	e.t.Helper()
	o := &v1alpha1.Offer{}
	NewWithT(e.t).Expect(e.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, o)).To(Succeed())
	return o
}

func (e *sdkEnv) tasks(ns string) []v1alpha1.Task {
	e.t.Helper()
	list := &v1alpha1.TaskList{}
	NewWithT(e.t).Expect(e.c.List(context.Background(), list, client.InNamespace(ns))).To(Succeed())
	return list.Items
}

func taskNames(tasks []v1alpha1.Task) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, t.Name)
	}
	slices.Sort(out)
	return out
}

// fakeCluster plays the master's allocator and binder and one agent for the
// frameworks of a namespace, on one node, in a loop: it offers the node's free
// resources to each framework that is not suppressed and has no outstanding
// offer (honouring decline filters and revive), binds tasks on valid offers
// (Dropped otherwise), and runs them: a task goes Running, then Finished, or
// Failed with exit code 1 when its command says "exit 1"; one whose command
// says "sleep" runs until deleted. A deleted task ends Killed.
type fakeCluster struct {
	e        *sdkEnv
	ns, node string
	capacity resources.Vector

	mu        sync.Mutex
	seq       int
	filters   map[string]time.Time // framework -> refuse until
	revives   map[string]int64
	launched  int
	maxActive map[string]int // most tasks active at once, by meseta.dev/job annotation
}

func (e *sdkEnv) startFakeCluster(ns, node, capacity string) *fakeCluster {
	f := &fakeCluster{e: e, ns: ns, node: node, capacity: resources.MustParse(capacity),
		filters: map[string]time.Time{}, revives: map[string]int64{}, maxActive: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := f.cycle(ctx); err != nil && ctx.Err() == nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
				e.t.Logf("fake cluster: %v", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	e.t.Cleanup(func() { cancel(); <-done })
	return f
}

// cycle runs one round: tasks, then declines, then new offers.
func (f *fakeCluster) cycle(ctx context.Context) error {
	c := f.e.c
	tasks := &v1alpha1.TaskList{}
	if err := c.List(ctx, tasks, client.InNamespace(f.ns)); err != nil {
		return err
	}
	offers := &v1alpha1.OfferList{}
	if err := c.List(ctx, offers, client.InNamespace(f.ns)); err != nil {
		return err
	}
	byName := map[string]*v1alpha1.Offer{}
	for i := range offers.Items {
		byName[offers.Items[i].Name] = &offers.Items[i]
	}
	used := resources.Vector{}
	active := map[string]int{}
	for i := range tasks.Items {
		t := &tasks.Items[i]
		if err := f.step(ctx, t, byName); err != nil {
			return err
		}
		if t.IsBound() && !t.IsTerminal() {
			v, _ := resources.FromAPI(t.Spec.Resources)
			used = used.Add(v)
			active[t.Annotations["meseta.dev/job"]]++
		}
	}
	f.mu.Lock()
	for job, n := range active {
		f.maxActive[job] = max(f.maxActive[job], n)
	}
	f.mu.Unlock()
	outstanding := map[string]bool{}
	for _, o := range byName {
		switch {
		case o.Status.Phase.IsFinal():
		case o.Spec.Decline != nil:
			f.mu.Lock()
			f.filters[o.Spec.Framework] = time.Now().Add(time.Duration(ptr.Deref(o.Spec.Decline.RefuseSeconds, 5)) * time.Second)
			f.mu.Unlock()
			o.Status.Phase, o.Status.Reason = v1alpha1.OfferDeclined, v1alpha1.OfferReasonDeclinedByFramework
			if err := c.Status().Update(ctx, o); err != nil {
				return err
			}
		default:
			outstanding[o.Spec.Framework] = true
			v, _ := resources.FromAPI(o.Spec.Resources)
			used = used.Add(v)
		}
	}
	return f.offer(ctx, outstanding, used)
}

// step moves a task on: bind or drop it, run it, finish or kill it.
func (f *fakeCluster) step(ctx context.Context, t *v1alpha1.Task, offers map[string]*v1alpha1.Offer) error {
	c := f.e.c
	switch {
	case t.IsTerminal():
		return nil
	case t.DeletionTimestamp != nil:
		setTaskState(t, v1alpha1.TaskKilled, nil)
		t.Status.Reason = v1alpha1.ReasonKillRequested
		return c.Status().Update(ctx, t)
	case !t.IsBound():
		for _, on := range t.Spec.Offers {
			o := offers[on]
			// Lenient: tasks launched together on one offer may reach us in
			// different rounds, so an offer accepted already stays usable.
			if o == nil || o.Spec.Framework != t.Spec.Framework || !(o.IsOutstanding() || o.Status.Phase == v1alpha1.OfferAccepted) {
				setTaskState(t, v1alpha1.TaskDropped, nil)
				t.Status.Reason = v1alpha1.ReasonInvalidOffers
				return c.Status().Update(ctx, t)
			}
		}
		for _, on := range t.Spec.Offers {
			o := offers[on]
			if o.Status.Phase == v1alpha1.OfferAccepted {
				continue
			}
			o.Status.Phase, o.Status.Reason = v1alpha1.OfferAccepted, v1alpha1.OfferReasonTasksLaunched
			if err := c.Status().Update(ctx, o); err != nil {
				return err
			}
		}
		t.Spec.NodeName = f.node
		if err := c.Update(ctx, t); err != nil {
			return err
		}
		f.mu.Lock()
		f.launched++
		f.mu.Unlock()
		setTaskState(t, v1alpha1.TaskStaging, nil)
		return c.Status().Update(ctx, t)
	case t.Status.State != v1alpha1.TaskRunning:
		setTaskState(t, v1alpha1.TaskRunning, nil)
		return c.Status().Update(ctx, t)
	}
	cmd := strings.Join(t.Spec.Container.Command, " ")
	switch {
	case strings.Contains(cmd, "sleep"):
		return nil
	case strings.Contains(cmd, "exit 1"):
		setTaskState(t, v1alpha1.TaskFailed, ptr.To[int32](1))
	default:
		setTaskState(t, v1alpha1.TaskFinished, ptr.To[int32](0))
	}
	return c.Status().Update(ctx, t)
}

// offer offers the free resources to each framework that may have them.
func (f *fakeCluster) offer(ctx context.Context, outstanding map[string]bool, used resources.Vector) error {
	c := f.e.c
	fws := &v1alpha1.FrameworkList{}
	if err := c.List(ctx, fws, client.InNamespace(f.ns)); err != nil {
		return err
	}
	for _, fw := range fws.Items {
		f.mu.Lock()
		if fw.Spec.Revive != f.revives[fw.Name] {
			f.revives[fw.Name] = fw.Spec.Revive
			delete(f.filters, fw.Name)
		}
		filtered := time.Now().Before(f.filters[fw.Name])
		f.seq++
		seq := f.seq
		f.mu.Unlock()
		free := f.capacity.Sub(used)
		if fw.Spec.Suppressed || fw.DeletionTimestamp != nil || outstanding[fw.Name] || filtered || !resources.DefaultMinAllocatable.Fits(free) {
			continue
		}
		o := &v1alpha1.Offer{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: fmt.Sprintf("%s-%s-%d", fw.Name, f.node, seq)}}
		o.Spec.Framework, o.Spec.NodeName, o.Spec.Resources = fw.Name, f.node, free.ToAPI()
		if err := c.Create(ctx, o); err != nil {
			return err
		}
		used = used.Add(free)
	}
	return nil
}

// mostActive returns the most tasks of a job that were active at once.
func (f *fakeCluster) mostActive(job string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.maxActive[job]
}

// launches returns how many tasks the fake master bound.
func (f *fakeCluster) launches() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.launched
}
