package apps

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/pkg/sdk"
)

// frameworks runs one framework (an SDK driver with a placer) per namespace
// that has Apps, so that DRF is fair between namespaces. It is a
// manager.Runnable: drivers live in its context, which outlives any one
// reconcile.
type frameworks struct {
	cl     cluster.Cluster
	opts   Options
	notify func(ctx context.Context, namespace, app string)

	ready   chan struct{} // closed once Start has set ctx
	ctx     context.Context
	mu      sync.Mutex
	running map[string]*namespaceFramework
	wg      sync.WaitGroup
}

// namespaceFramework is the framework of one namespace.
type namespaceFramework struct {
	driver *sdk.Driver
	placer *placer
	cancel context.CancelFunc
	done   chan struct{}
}

func newFrameworks(cl cluster.Cluster, opts Options, notify func(ctx context.Context, namespace, app string)) *frameworks {
	return &frameworks{cl: cl, opts: opts, notify: notify, ready: make(chan struct{}), running: map[string]*namespaceFramework{}}
}

// Start keeps the drivers' context until ctx ends, then waits for them to stop
// (each releases its Lease, so that a new leader takes over at once).
func (f *frameworks) Start(ctx context.Context) error {
	f.mu.Lock()
	f.ctx = ctx
	close(f.ready)
	f.mu.Unlock()
	<-ctx.Done()
	f.wg.Wait()
	return nil
}

// placer returns the placer of the framework of namespace ns, starting the
// framework first if it does not run. The framework runs while the namespace
// has Apps, launching or not, so that its Lease keeps their tasks alive.
func (f *frameworks) placer(ctx context.Context, ns string) (*placer, error) {
	select {
	case <-f.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if nf, ok := f.running[ns]; ok {
		return nf.placer, nil
	}
	if f.ctx.Err() != nil {
		return nil, f.ctx.Err()
	}
	dctx, cancel := context.WithCancel(f.ctx)
	p := newPlacer(func(app string) { f.notify(dctx, ns, app) })
	fw := sdk.Framework{
		Name:            f.opts.FrameworkName,
		Namespace:       ns,
		FailoverTimeout: f.opts.FailoverTimeout,
		LeaseDuration:   f.opts.LeaseDuration,
		RenewInterval:   f.opts.RenewInterval,
		Suppressed:      true, // until the placer has tasks
	}
	d, err := sdk.New(f.cl, fw, p)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("failed to make the framework of namespace %s: %w", ns, err)
	}
	dctx = log.IntoContext(dctx, log.FromContext(f.ctx).WithName("apps").WithValues("framework", klog.KRef(ns, fw.Name)))
	nf := &namespaceFramework{driver: d, placer: p, cancel: cancel, done: make(chan struct{})}
	f.running[ns] = nf
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(nf.done)
		if err := d.Start(dctx); err != nil {
			log.FromContext(dctx).Error(err, "Framework stopped")
		}
	}()
	log.FromContext(ctx).Info("Started the apps framework of a namespace", "namespace", ns)
	return p, nil
}

// stop unregisters the framework of namespace ns, which has no Apps left: its
// Framework is deleted and its driver stopped.
func (f *frameworks) stop(ctx context.Context, ns string) error {
	f.mu.Lock()
	nf, ok := f.running[ns]
	delete(f.running, ns)
	f.mu.Unlock()
	if !ok {
		return nil
	}
	log.FromContext(ctx).Info("Stopping the apps framework of a namespace without apps", "namespace", ns)
	err := nf.driver.Teardown(ctx)
	nf.cancel()
	<-nf.done
	return err
}

// existing returns the placer of the framework of ns if it runs, else nil.
func (f *frameworks) existing(ns string) *placer {
	f.mu.Lock()
	defer f.mu.Unlock()
	if nf, ok := f.running[ns]; ok {
		return nf.placer
	}
	return nil
}
