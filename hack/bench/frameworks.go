package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/serviceaccount"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/sdk"
	"meseta.dev/meseta/pkg/security"
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
// rescinded, or accepted before the task arrived). As the Queue asks, it
// hands the queue only the tasks still to launch: a task leaves the group
// once the framework's cache holds it (a Queue forgets what it launched after
// two minutes, and would place again a task it is still given: under load a
// task may wait longer than that for its first status).
type relauncher struct {
	key   string
	queue *sdk.Queue

	mu       sync.Mutex
	live     map[string]bool // names of the tasks launched or to launch, less those Dropped
	pending  map[string]bool // names of the tasks not seen with a status yet
	attempts int
	flushing bool // a Set of the queue is scheduled
}

// relaunchFlushDelay gathers the status updates of many tasks into one Set of
// the queue.
const relaunchFlushDelay = 100 * time.Millisecond

func newRelauncher(key, prefix string, n int) *relauncher {
	r := &relauncher{key: key, live: map[string]bool{}, pending: map[string]bool{}}
	for i := range n {
		name := sdk.TaskName(prefix, strconv.Itoa(i))
		r.live[name], r.pending[name] = true, true
	}
	r.queue = sdk.NewQueue(sdk.QueueOptions{OnStatus: r.onStatus})
	return r
}

// start hands the tasks to the queue.
func (r *relauncher) start() { r.flush() }

func (r *relauncher) onStatus(_ context.Context, t *v1alpha1.Task) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case !r.live[t.Name]:
		return
	case t.Status.State == v1alpha1.TaskDropped:
		delete(r.live, t.Name)
		delete(r.pending, t.Name)
		r.attempts++
		name := sdk.TaskName(t.Name, "r"+strconv.Itoa(r.attempts))
		r.live[name], r.pending[name] = true, true
	case r.pending[t.Name]:
		// Seen: it exists, whether or not its agent wrote a status yet.
		delete(r.pending, t.Name)
	default:
		return
	}
	if !r.flushing {
		r.flushing = true
		time.AfterFunc(relaunchFlushDelay, r.flush)
	}
}

// flush sets the queue's group to the tasks still to launch.
func (r *relauncher) flush() {
	r.mu.Lock()
	r.flushing = false
	names := slices.Sorted(maps.Keys(r.pending))
	r.mu.Unlock()
	tasks := make([]v1alpha1.Task, len(names))
	for i, name := range names {
		tasks[i].Name = name
		tasks[i].Spec.TaskTemplate = benchTemplate()
	}
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

// asServiceAccount makes service account name in namespace ns a framework
// there (ClusterRole meseta:framework, bound in ns), as an operator sets up a
// framework, and returns a copy of cfg that speaks as it (by impersonation):
// the master's priority and fairness then puts its requests in the
// frameworks' level, where an admin's would be exempt and unbounded.
func asServiceAccount(ctx context.Context, c client.Client, cfg *rest.Config, ns, name string) (*rest.Config, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := c.Create(ctx, sa); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-framework"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: security.FrameworkRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: name}},
	}
	if err := c.Create(ctx, rb); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	out := rest.CopyConfig(cfg)
	out.Impersonate = rest.ImpersonationConfig{
		UserName: serviceaccount.MakeUsername(ns, name),
		Groups:   []string{serviceaccount.AllServiceAccountsGroup, serviceaccount.MakeNamespaceGroupName(ns), user.AllAuthenticated},
	}
	return out, nil
}
