package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/sdk"
)

// frameworkManager returns a manager for SDK frameworks in the given
// namespaces (all when none), with a client fast enough for thousands of
// tasks per second, started until ctx ends.
func frameworkManager(ctx context.Context, cfg *rest.Config, namespaces ...string) (ctrl.Manager, error) {
	cfg.QPS, cfg.Burst = 5000, 10000
	opts := cache.Options{}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return ctrl.NewManager(cfg, ctrl.Options{
		Scheme: sdk.Scheme(), Cache: opts,
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
	})
}

// waitActive waits until every driver holds its Lease and its Framework.
func waitActive(ctx context.Context, drivers ...*sdk.Driver) error {
	deadline := time.Now().Add(2 * time.Minute)
	for _, d := range drivers {
		for !d.Active() {
			if time.Now().After(deadline) {
				return errors.New("the frameworks did not register within 2 minutes")
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// launchQueue registers one SDK framework with an sdk.Queue, hands it n tasks
// that run until deleted, and returns when it did.
func launchQueue(ctx context.Context, m *master, n int) (time.Time, error) {
	c, err := m.client()
	if err != nil {
		return time.Time{}, err
	}
	if err := ensureNamespace(ctx, c, benchNamespace); err != nil {
		return time.Time{}, err
	}
	mgr, err := frameworkManager(ctx, m.config(), benchNamespace)
	if err != nil {
		return time.Time{}, err
	}
	rl := newRelauncher("launch", "launch", n)
	d, err := sdk.Register(mgr, sdk.Framework{Name: "launch", Namespace: benchNamespace}, rl.queue)
	if err != nil {
		return time.Time{}, err
	}
	go func() { _ = mgr.Start(ctx) }()
	if err := waitActive(ctx, d); err != nil {
		return time.Time{}, err
	}
	start := time.Now()
	rl.start()
	return start, nil
}

// relauncher is a raw SDK framework's own bookkeeping: an sdk.Queue of n
// tasks that run until deleted, and, as a framework must, a relaunch under a
// new name of every task the master Dropped (never launched: its offer was
// rescinded, or accepted before the task arrived).
type relauncher struct {
	key   string
	queue *sdk.Queue

	mu       sync.Mutex
	tasks    []v1alpha1.Task
	index    map[string]int // task name -> its place in tasks
	attempts int
}

func newRelauncher(key, prefix string, n int) *relauncher {
	r := &relauncher{key: key, tasks: make([]v1alpha1.Task, n), index: map[string]int{}}
	for i := range r.tasks {
		r.tasks[i].Name = sdk.TaskName(prefix, strconv.Itoa(i))
		r.tasks[i].Spec.TaskTemplate = benchTemplate()
		r.index[r.tasks[i].Name] = i
	}
	r.queue = sdk.NewQueue(sdk.QueueOptions{OnStatus: r.onStatus})
	return r
}

// start hands the tasks to the queue.
func (r *relauncher) start() {
	r.mu.Lock()
	tasks := slices.Clone(r.tasks)
	r.mu.Unlock()
	r.queue.Set(r.key, sdk.Group{Tasks: tasks})
}

func (r *relauncher) onStatus(_ context.Context, t *v1alpha1.Task) {
	if t.Status.State != v1alpha1.TaskDropped {
		return
	}
	r.mu.Lock()
	i, ok := r.index[t.Name]
	if !ok {
		r.mu.Unlock()
		return
	}
	r.attempts++
	delete(r.index, t.Name)
	r.tasks[i].Name = sdk.TaskName(t.Name, "r"+strconv.Itoa(r.attempts))
	r.index[r.tasks[i].Name] = i
	tasks := slices.Clone(r.tasks)
	r.mu.Unlock()
	r.queue.Set(r.key, sdk.Group{Tasks: tasks})
}

// acceptAll is a framework that accepts every offer it gets with one small
// task that runs until deleted, and counts what it did.
type acceptAll struct {
	name     string
	next     int
	accepted *atomic.Int64
}

// ResourceOffers implements sdk.Scheduler.
func (a *acceptAll) ResourceOffers(_ context.Context, _ *sdk.Driver, offers []v1alpha1.Offer) []sdk.Decision {
	ds := make([]sdk.Decision, 0, len(offers))
	tmpl := benchTemplate()
	for _, o := range offers {
		if !sdk.Fits(&o, tmpl.Resources) {
			ds = append(ds, sdk.Decline{Offer: o.Name})
			continue
		}
		a.next++
		t := v1alpha1.Task{}
		t.Name = fmt.Sprintf("%s-%d", a.name, a.next)
		t.Spec.TaskTemplate = tmpl
		ds = append(ds, sdk.Launch{Offers: []string{o.Name}, Tasks: []v1alpha1.Task{t}})
		a.accepted.Add(1)
	}
	return ds
}

// StatusUpdate implements sdk.Scheduler.
func (a *acceptAll) StatusUpdate(context.Context, *sdk.Driver, *v1alpha1.Task) {}

func isAlreadyExists(err error) bool { return apierrors.IsAlreadyExists(err) }
