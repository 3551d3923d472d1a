package sdk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Driver connects a Scheduler to the Meseta API: it keeps the framework's Lease
// and Framework object, delivers offers and task status to the Scheduler and
// applies its decisions. Make one with New (or Register), then run it with
// Start, directly or as a manager.Runnable. Its methods are safe to call from
// any goroutine, including from the Scheduler's callbacks.
type Driver struct {
	fw     Framework
	sched  Scheduler
	c      client.Client
	reader client.Reader
	cache  cache.Cache
	lease  *leaseKeeper
	now    func() time.Time

	started atomic.Bool
	wake    chan struct{}

	mu         sync.Mutex
	suppressed bool                // wanted spec.suppressed
	revives    int                 // revives asked for and not yet written
	dirty      map[string]struct{} // tasks with events since the last pass
	reconcile  bool                // deliver the status of every task
	offerPass  bool                // call ResourceOffers even without offers
	object     *v1alpha1.Framework // the registered Framework; nil when inactive
	tornDown   bool                // Teardown was called

	// Owned by the goroutine running Start.
	claims    map[string]time.Time      // offers launched on or declined, not yet closed
	delivered map[string]taskSnapshot   // what StatusUpdate last said of each task
	known     map[string]*v1alpha1.Task // each task as last delivered
	created   map[string]time.Time      // tasks created, not yet in the cache
}

// New returns a Driver for fw and sched that uses cl's client and cache (a
// ctrl.Manager is a cluster.Cluster). The cache must be able to see Offers,
// Tasks and Frameworks in fw.Namespace; its scheme must hold Meseta's types and
// coordination.k8s.io/v1 (see Scheme).
func New(cl cluster.Cluster, fw Framework, sched Scheduler) (*Driver, error) {
	if sched == nil {
		return nil, errors.New("a scheduler is required")
	}
	fw, err := fw.complete()
	if err != nil {
		return nil, fmt.Errorf("invalid framework: %w", err)
	}
	d := &Driver{
		fw:         fw,
		sched:      sched,
		c:          cl.GetClient(),
		reader:     cl.GetAPIReader(),
		cache:      cl.GetCache(),
		now:        time.Now,
		wake:       make(chan struct{}, 1),
		suppressed: fw.Suppressed,
		dirty:      map[string]struct{}{},
	}
	d.lease = &leaseKeeper{
		c: d.c, reader: d.reader, identity: fw.Identity, duration: fw.LeaseDuration, now: d.now,
		key: client.ObjectKey{Namespace: fw.Namespace, Name: fw.Name},
	}
	return d, nil
}

// Register makes a Driver with New and adds it to mgr, which starts it with
// the manager (after winning the manager's leader election, if it has one).
func Register(mgr ctrl.Manager, fw Framework, sched Scheduler) (*Driver, error) {
	d, err := New(mgr, fw, sched)
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(d); err != nil {
		return nil, fmt.Errorf("failed to add the framework driver: %w", err)
	}
	return d, nil
}

// Run runs a framework in a manager of its own (RunOptions) until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, fw Framework, sched Scheduler) error {
	mgr, err := ctrl.NewManager(cfg, RunOptions(ctx, fw))
	if err != nil {
		return fmt.Errorf("failed to create a manager: %w", err)
	}
	if _, err := Register(mgr, fw, sched); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// RunOptions are the options of the manager Run makes for fw: its cache sees
// only fw.Namespace, and of the Offers and Tasks there only the framework's
// own (field selector spec.framework), so that frameworks sharing a
// namespace do not each receive the others' offers and task updates; no
// metrics or health endpoints are served.
func RunOptions(ctx context.Context, fw Framework) ctrl.Options {
	own := cache.ByObject{Field: fields.OneTermEqualSelector("spec.framework", fw.Name)}
	return ctrl.Options{
		Scheme: Scheme(),
		Logger: log.FromContext(ctx),
		Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{fw.Namespace: {}},
			ByObject:         map[client.Object]cache.ByObject{&v1alpha1.Offer{}: own, &v1alpha1.Task{}: own},
			DefaultTransform: cache.TransformStripManagedFields()},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	}
}

// Scheme returns a new scheme with the Kubernetes types (coordination Leases
// among them) and Meseta's, for a framework's manager.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}

// Framework returns the driver's framework configuration, defaults filled in.
func (d *Driver) Framework() Framework { return d.fw }

// Client returns the client the driver writes with.
func (d *Driver) Client() client.Client { return d.c }

// Object returns a copy of the registered Framework object, or nil while the
// driver is not the framework's active scheduler.
func (d *Driver) Object() *v1alpha1.Framework {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.object == nil {
		return nil
	}
	return d.object.DeepCopy()
}

// Active reports whether the driver holds the Lease and has registered.
func (d *Driver) Active() bool { return d.Object() != nil }

// Suppress asks the master for no more offers (spec.suppressed), until Revive.
func (d *Driver) Suppress() {
	d.mu.Lock()
	d.suppressed = true
	d.mu.Unlock()
	d.poke()
}

// Revive asks for offers again: it clears spec.suppressed and all the
// framework's decline filters (a bump of spec.revive).
func (d *Driver) Revive() {
	d.mu.Lock()
	d.suppressed = false
	d.revives++
	d.mu.Unlock()
	d.poke()
}

// Trigger asks for a call of ResourceOffers soon, with the outstanding offers,
// even if there are none.
func (d *Driver) Trigger() {
	d.mu.Lock()
	d.offerPass = true
	d.mu.Unlock()
	d.poke()
}

// Reconcile asks for a StatusUpdate of every task of the framework, read from
// the API server (explicit reconciliation).
func (d *Driver) Reconcile() {
	d.mu.Lock()
	d.reconcile = true
	d.mu.Unlock()
	d.poke()
}

// Kill kills a task of the framework by deleting it: the agent stops its
// container (SIGTERM, then SIGKILL after its killGracePeriod) and writes its
// final status before the object goes. Killing a task that is gone is not an
// error.
func (d *Driver) Kill(ctx context.Context, name string) error {
	t := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: d.fw.Namespace, Name: name}}
	if err := d.c.Delete(ctx, t); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to kill task %s/%s: %w", d.fw.Namespace, name, err)
	}
	return nil
}

// Teardown unregisters the framework for good, as a framework that has
// finished its work does: it deletes the Framework object (the master kills
// and deletes its tasks) and stops the driver, whose Start then returns. A
// framework that only restarts must not call it: stopping the process keeps
// the Framework and its tasks for failover.
func (d *Driver) Teardown(ctx context.Context) error {
	d.mu.Lock()
	d.tornDown = true
	d.mu.Unlock()
	fw := &v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Namespace: d.fw.Namespace, Name: d.fw.Name}}
	if err := d.c.Delete(ctx, fw); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to delete framework %s/%s: %w", d.fw.Namespace, d.fw.Name, err)
	}
	d.poke()
	return nil
}

func (d *Driver) isTornDown() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.tornDown
}

// Tasks returns the framework's tasks as the cache holds them.
func (d *Driver) Tasks(ctx context.Context) ([]v1alpha1.Task, error) {
	list := &v1alpha1.TaskList{}
	if err := d.cache.List(ctx, list, client.InNamespace(d.fw.Namespace)); err != nil {
		return nil, fmt.Errorf("failed to list tasks: %w", err)
	}
	out := list.Items[:0]
	for _, t := range list.Items {
		if t.Spec.Framework == d.fw.Name {
			out = append(out, t)
		}
	}
	return out, nil
}

// poke wakes the driver's loop.
func (d *Driver) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Driver) wantSuppressed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.suppressed
}

func (d *Driver) wanted() (bool, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.suppressed, d.revives
}

func (d *Driver) revived(n int) {
	d.mu.Lock()
	d.revives -= n
	d.mu.Unlock()
}

func (d *Driver) setObject(obj *v1alpha1.Framework) {
	d.mu.Lock()
	d.object = obj
	d.mu.Unlock()
}

// Start runs the driver until ctx ends: it waits for the Lease, registers,
// runs the scheduler while it holds the Lease, and starts over when it loses
// it. When ctx ends it releases the Lease. It returns an error only for a
// framework that cannot register (such as one asking for another role than
// the existing Framework's).
func (d *Driver) Start(ctx context.Context) error {
	if !d.started.CompareAndSwap(false, true) {
		return errors.New("the driver was already started")
	}
	logger := log.FromContext(ctx).WithValues("framework", klog.KRef(d.fw.Namespace, d.fw.Name))
	ctx = log.IntoContext(ctx, logger)
	unwatch, err := d.watch(ctx)
	if err != nil {
		return err
	}
	defer unwatch()
	defer d.releaseLease(ctx)
	for !d.isTornDown() {
		if !d.acquire(ctx) {
			return nil
		}
		logger.Info("Acquired the framework's lease", "identity", d.fw.Identity)
		if err := d.term(ctx); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	logger.Info("Framework torn down; driver stopped")
	return nil
}

// releaseLease releases the Lease with a short context of its own, as ctx has
// ended.
func (d *Driver) releaseLease(ctx context.Context) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.lease.release(rctx); err != nil {
		log.FromContext(ctx).Error(err, "Failed to release the framework's lease")
	}
}

// acquire blocks until the driver holds the Lease (true) or ctx ends (false).
func (d *Driver) acquire(ctx context.Context) bool {
	logger := log.FromContext(ctx)
	waiting := false
	for {
		held, wait, err := d.lease.try(ctx, nil)
		switch {
		case held:
			return true
		case err != nil && ctx.Err() == nil:
			logger.Error(err, "Failed to acquire the framework's lease")
		case !waiting && err == nil:
			logger.Info("Another process holds the framework's lease; waiting", "maxWait", wait.Round(time.Second))
			waiting = true
		}
		sleep := d.fw.RenewInterval
		if err == nil && wait > 0 {
			sleep = min(wait, sleep)
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(sleep):
		}
	}
}
