package integration

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/controllers"
	"meseta.dev/meseta/controllers/apps"
	"meseta.dev/meseta/controllers/offers"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/master/mastertest"
	"meseta.dev/meseta/pkg/resources"
)

// startApps starts a master running the real offer and binding controllers,
// the framework lifecycle controller and the apps framework, with ready
// nodes of the given capacity, and an agent played by the test on them.
func startApps(t *testing.T, ns string, nodes []string, capacity string) (*sdkEnv, *appsAgent) {
	setup := func(mgr ctrl.Manager, _ master.SchedulingOptions) error {
		_, err := apps.New(mgr, apps.DefaultOptions())
		return err
	}
	sched := master.NewOptions().Scheduling
	sched.AllocationInterval = 200 * time.Millisecond
	m := mastertest.Start(t, mastertest.Options{
		Controllers: []master.ControllerSetup{offers.Setup, controllers.FrameworkLifecycle, setup},
		Scheduling:  &sched,
	})
	e := &sdkEnv{t: t, m: m, c: m.Client(t)}
	e.namespace(ns)
	g := NewWithT(t)
	for _, name := range nodes {
		node := &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
		g.Expect(e.c.Create(context.Background(), node)).To(Succeed())
		alloc := resources.MustParse(capacity).ToAPI()
		node.Status.Capacity, node.Status.Allocatable, node.Status.Hostname = alloc, alloc, name
		node.Status.Conditions = []metav1.Condition{{Type: v1alpha1.NodeReadyCondition, Status: metav1.ConditionTrue,
			Reason: v1alpha1.NodeAgentReadyReason, LastTransitionTime: metav1.Now()}}
		g.Expect(e.c.Status().Update(context.Background(), node)).To(Succeed())
	}
	a := &appsAgent{c: e.c, ns: ns}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			a.cycle(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return e, a
}

// appsAgent plays the agents of the nodes for the tasks of a namespace, as
// the real agent does but without containers: it holds a bound task with
// the agent's finalizer, runs it (Running, then healthy one round later when
// it has a health check), and kills a deleted task (Killed, then the
// finalizer removed). It records, after each round, how many tasks of each
// App serve (Running and healthy, not yet killed) and exist (not ended).
type appsAgent struct {
	c  client.Client
	ns string

	mu      sync.Mutex
	history []appsSample
}

// appsSample is what one round of the agent saw of one App.
type appsSample struct {
	app               string
	serving, existing int
}

func (a *appsAgent) cycle(ctx context.Context) {
	list := &v1alpha1.TaskList{}
	if a.c.List(ctx, list, client.InNamespace(a.ns)) != nil {
		return
	}
	serving, existing := map[string]int{}, map[string]int{}
	for i := range list.Items {
		t := &list.Items[i]
		a.step(ctx, t)
		app := t.Annotations[apps.AnnotationApp]
		if app == "" || t.IsTerminal() {
			continue
		}
		existing[app]++
		if t.Status.State == v1alpha1.TaskRunning && (t.Spec.HealthCheck == nil || ptr.Deref(t.Status.Healthy, false)) {
			serving[app]++
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for app, n := range existing {
		a.history = append(a.history, appsSample{app: app, serving: serving[app], existing: n})
	}
}

// step moves one task on; t is left as written.
func (a *appsAgent) step(ctx context.Context, t *v1alpha1.Task) {
	switch {
	case !t.IsBound():
	case t.DeletionTimestamp != nil:
		if !t.IsTerminal() {
			setTaskState(t, v1alpha1.TaskKilled, nil)
			t.Status.Reason = v1alpha1.ReasonKillRequested
			if a.c.Status().Update(ctx, t) != nil {
				return
			}
		}
		if controllerutil.RemoveFinalizer(t, v1alpha1.TaskFinalizer) {
			_ = a.c.Update(ctx, t)
		}
	case t.IsTerminal():
	case !controllerutil.ContainsFinalizer(t, v1alpha1.TaskFinalizer):
		controllerutil.AddFinalizer(t, v1alpha1.TaskFinalizer)
		_ = a.c.Update(ctx, t)
	case t.Status.State != v1alpha1.TaskRunning:
		setTaskState(t, v1alpha1.TaskRunning, nil)
		_ = a.c.Status().Update(ctx, t)
	case t.Spec.HealthCheck != nil && t.Status.Healthy == nil:
		t.Status.Healthy = ptr.To(!strings.Contains(strings.Join(t.Spec.Container.Command, " "), "unhealthy"))
		_ = a.c.Status().Update(ctx, t)
	}
}

// since returns the samples of app recorded from index from on.
func (a *appsAgent) since(app string, from int) []appsSample {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []appsSample
	for _, s := range a.history[from:] {
		if s.app == app {
			out = append(out, s)
		}
	}
	return out
}

// mark returns the index of the next sample.
func (a *appsAgent) mark() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.history)
}

func getApp(g Gomega, c client.Client, ns, name string) *v1alpha1.App {
	app := &v1alpha1.App{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, app)).To(Succeed())
	return app
}

// appTasks returns the tasks of an App that have not ended, by name.
func appTasks(e *sdkEnv, ns, app string) map[string]v1alpha1.Task {
	out := map[string]v1alpha1.Task{}
	for _, t := range e.tasks(ns) {
		if t.Annotations[apps.AnnotationApp] == app && !t.IsTerminal() {
			out[t.Name] = t
		}
	}
	return out
}
