package sdk

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// PerNamespace runs one framework per namespace, each a Driver with its own
// scheduler of type S, so that DRF is fair between the namespaces (the teams)
// that use a service. The built-in apps and jobs frameworks work this way: a
// controller calls Get for a namespace that has work and Stop for one that
// has none left.
//
// PerNamespace is a manager.Runnable: add it to the manager, and the drivers
// live in the manager's context, which outlives any one reconcile.
type PerNamespace[S Scheduler] struct {
	cl   cluster.Cluster
	name string
	spec func(namespace string) Framework
	make func(ctx context.Context, namespace string) S

	ready   chan struct{} // closed once Start has set ctx
	ctx     context.Context
	mu      sync.Mutex
	running map[string]*namespaceDriver[S]
	wg      sync.WaitGroup
}

type namespaceDriver[S Scheduler] struct {
	driver *Driver
	sched  S
	cancel context.CancelFunc
	done   chan struct{}
}

// NewPerNamespace returns a PerNamespace named name (for logs) whose
// framework in a namespace is spec(namespace), scheduled by the scheduler
// newScheduler returns; newScheduler's context lives as long as that
// namespace's framework.
func NewPerNamespace[S Scheduler](cl cluster.Cluster, name string, spec func(namespace string) Framework,
	newScheduler func(ctx context.Context, namespace string) S) *PerNamespace[S] {
	return &PerNamespace[S]{cl: cl, name: name, spec: spec, make: newScheduler,
		ready: make(chan struct{}), running: map[string]*namespaceDriver[S]{}}
}

// Start keeps the drivers' context until ctx ends, then waits for them to stop
// (each releases its Lease, so that a new leader takes over at once).
func (p *PerNamespace[S]) Start(ctx context.Context) error {
	p.mu.Lock()
	p.ctx = ctx
	close(p.ready)
	p.mu.Unlock()
	<-ctx.Done()
	p.wg.Wait()
	return nil
}

// Get returns the scheduler of the framework of namespace ns, starting the
// framework first if it does not run. It waits for Start.
func (p *PerNamespace[S]) Get(ctx context.Context, ns string) (S, error) {
	var none S
	select {
	case <-p.ready:
	case <-ctx.Done():
		return none, ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if nd, ok := p.running[ns]; ok {
		return nd.sched, nil
	}
	if p.ctx.Err() != nil {
		return none, p.ctx.Err()
	}
	fw := p.spec(ns)
	fw.Namespace = ns
	dctx, cancel := context.WithCancel(p.ctx)
	dctx = log.IntoContext(dctx, log.FromContext(p.ctx).WithName(p.name).WithValues("framework", klog.KRef(ns, fw.Name)))
	sched := p.make(dctx, ns)
	d, err := New(p.cl, fw, sched)
	if err != nil {
		cancel()
		return none, fmt.Errorf("failed to make the %s framework of namespace %s: %w", p.name, ns, err)
	}
	nd := &namespaceDriver[S]{driver: d, sched: sched, cancel: cancel, done: make(chan struct{})}
	p.running[ns] = nd
	p.wg.Go(func() {
		defer close(nd.done)
		if err := d.Start(dctx); err != nil {
			log.FromContext(dctx).Error(err, "Framework stopped")
		}
	})
	log.FromContext(ctx).Info("Started the framework of a namespace", "framework", p.name, "namespace", ns)
	return sched, nil
}

// Existing returns the scheduler of the framework of ns and true if that
// framework runs.
func (p *PerNamespace[S]) Existing(ns string) (S, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	nd, ok := p.running[ns]
	if !ok {
		var none S
		return none, false
	}
	return nd.sched, true
}

// Stop unregisters the framework of namespace ns, which has no work left: its
// Framework is deleted (Teardown) and its driver stopped. Stopping a
// framework that does not run does nothing.
func (p *PerNamespace[S]) Stop(ctx context.Context, ns string) error {
	p.mu.Lock()
	nd, ok := p.running[ns]
	delete(p.running, ns)
	p.mu.Unlock()
	if !ok {
		return nil
	}
	log.FromContext(ctx).Info("Stopping the framework of a namespace with no work left", "framework", p.name, "namespace", ns)
	err := nd.driver.Teardown(ctx)
	nd.cancel()
	<-nd.done
	return err
}
