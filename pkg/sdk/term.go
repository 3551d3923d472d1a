package sdk

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
)

// errTermOver ends a term: the Framework was deleted, replaced or torn down.
var errTermOver = errors.New("the framework is gone")

// term runs the scheduler while the driver holds the Lease. It returns nil
// when the Lease is lost, the Framework is gone, or ctx ends, and an error
// when the framework cannot register at all.
func (d *Driver) term(ctx context.Context) error {
	logger := log.FromContext(ctx)
	if d.isTornDown() {
		return nil
	}
	obj, err := d.register(ctx)
	if err != nil {
		if errors.Is(err, errRoleMismatch) {
			return err
		}
		if ctx.Err() == nil {
			logger.Error(err, "Failed to register the framework")
			select {
			case <-ctx.Done():
			case <-time.After(d.fw.RenewInterval):
			}
		}
		return nil
	}
	d.beginTerm(obj)
	if h, ok := d.sched.(RegisteredHandler); ok {
		h.Registered(ctx, d, obj.DeepCopy())
	}
	defer d.endTerm(ctx)

	// The Lease is renewed beside the passes, so that a long pass (a large
	// batch of launches on a loaded master) cannot let it expire.
	lost := make(chan struct{})
	renewCtx, stopRenewing := context.WithCancel(ctx)
	renewing := make(chan struct{})
	go func() {
		defer close(renewing)
		d.keepLease(renewCtx, ownerRef(obj), lost)
	}()
	defer func() { stopRenewing(); <-renewing }()
	batch := time.NewTimer(0) // the first pass right away
	batchArmed := true
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-lost:
			return nil
		case <-d.wake:
			if !batchArmed {
				batch.Reset(d.fw.OfferBatchDelay)
				batchArmed = true
			}
		case <-batch.C:
			batchArmed = false
			next, err := d.process(ctx, obj)
			if errors.Is(err, errTermOver) && d.isTornDown() {
				return nil
			}
			if errors.Is(err, errTermOver) {
				logger.Info("The framework was deleted or torn down; registering anew")
				return nil
			}
			obj = next
			if again := d.retryAfter(err); again > 0 {
				batch.Reset(again)
				batchArmed = true
			}
		}
	}
}

// keepLease renews the Lease every RenewInterval until ctx ends, and closes
// lost when it is lost: taken by another process, or not renewed in time.
func (d *Driver) keepLease(ctx context.Context, owner *metav1.OwnerReference, lost chan<- struct{}) {
	logger := log.FromContext(ctx)
	renew := time.NewTicker(d.fw.RenewInterval)
	defer renew.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
		}
		held, _, err := d.lease.try(ctx, owner)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && d.lease.expired():
			logger.Error(err, "Lost the framework's lease: could not renew it in time")
			close(lost)
			return
		case err != nil:
			logger.Error(err, "Failed to renew the framework's lease")
		case !held:
			logger.Info("Lost the framework's lease to another process")
			close(lost)
			return
		}
	}
}

// retryAfter returns how soon to run another pass after one that returned err.
func (d *Driver) retryAfter(err error) time.Duration {
	var wait waitError
	switch {
	case errors.As(err, &wait):
		return time.Duration(wait)
	case err != nil:
		return time.Second
	}
	return 0
}

// waitError asks for another pass after a while: the cache has not caught up.
type waitError time.Duration

func (w waitError) Error() string { return fmt.Sprintf("waiting %v for the cache", time.Duration(w)) }

// beginTerm resets the per-term state: every task's status is delivered again.
func (d *Driver) beginTerm(obj *v1alpha1.Framework) {
	d.claims = map[string]time.Time{}
	d.delivered = map[string]taskSnapshot{}
	d.known = map[string]*v1alpha1.Task{}
	d.created = map[string]time.Time{}
	d.mu.Lock()
	d.object = obj
	d.reconcile = true
	d.offerPass = false
	d.dirty = map[string]struct{}{}
	d.mu.Unlock()
}

// endTerm tells the scheduler it is no longer active.
func (d *Driver) endTerm(ctx context.Context) {
	d.setObject(nil)
	if h, ok := d.sched.(DisconnectedHandler); ok {
		h.Disconnected(ctx, d)
	}
}

// process runs one pass: checks the Framework, writes suppression and revives,
// delivers task status, then offers. It returns the Framework as last seen.
func (d *Driver) process(ctx context.Context, obj *v1alpha1.Framework) (*v1alpha1.Framework, error) {
	if err := d.checkFramework(ctx, obj); err != nil {
		return obj, err
	}
	obj, err := d.syncSpec(ctx, obj)
	if err != nil {
		log.FromContext(ctx).Error(err, "Failed to update the framework")
	} else {
		d.setObject(obj)
	}
	if err := d.deliverStatus(ctx); err != nil {
		return obj, err
	}
	if err := d.deliverOffers(ctx, obj); err != nil {
		return obj, err
	}
	return obj, err
}

// checkFramework returns errTermOver when the registered Framework was
// deleted, replaced or torn down.
func (d *Driver) checkFramework(ctx context.Context, obj *v1alpha1.Framework) error {
	cur := &v1alpha1.Framework{}
	err := d.cache.Get(ctx, client.ObjectKeyFromObject(obj), cur)
	if apierrors.IsNotFound(err) || (err == nil && cur.UID != obj.UID) {
		// The cache may lag behind; ask the API server.
		err = d.reader.Get(ctx, client.ObjectKeyFromObject(obj), cur)
	}
	switch {
	case apierrors.IsNotFound(err):
		return errTermOver
	case err != nil:
		return fmt.Errorf("failed to read framework: %w", err)
	case cur.UID != obj.UID || cur.DeletionTimestamp != nil || cur.Status.Phase == v1alpha1.FrameworkTornDown:
		return errTermOver
	}
	return nil
}

// ownerRef returns an owner reference to the Framework obj.
func ownerRef(obj *v1alpha1.Framework) *metav1.OwnerReference {
	return &metav1.OwnerReference{
		APIVersion: v1alpha1.GroupVersion.String(),
		Kind:       "Framework",
		Name:       obj.Name,
		UID:        obj.UID,
	}
}

// watch adds event handlers for the framework's offers, tasks and Framework
// to the cache's informers; the returned function removes them.
func (d *Driver) watch(ctx context.Context) (func(), error) {
	type reg struct {
		inf toolscache.ResourceEventHandlerRegistration
		src interface {
			RemoveEventHandler(toolscache.ResourceEventHandlerRegistration) error
		}
	}
	var regs []reg
	remove := func() {
		for _, r := range regs {
			_ = r.src.RemoveEventHandler(r.inf)
		}
	}
	handlers := []struct {
		obj client.Object
		on  func(obj any)
	}{
		{&v1alpha1.Offer{}, d.onOffer},
		{&v1alpha1.Task{}, d.onTask},
		{&v1alpha1.Framework{}, d.onFramework},
	}
	for _, h := range handlers {
		inf, err := d.cache.GetInformer(ctx, h.obj)
		if err != nil {
			remove()
			return nil, fmt.Errorf("failed to watch %T: %w", h.obj, err)
		}
		on := h.on
		r, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { on(obj) },
			UpdateFunc: func(_, obj any) { on(obj) },
			DeleteFunc: func(obj any) { on(obj) },
		})
		if err != nil {
			remove()
			return nil, fmt.Errorf("failed to watch %T: %w", h.obj, err)
		}
		regs = append(regs, reg{inf: r, src: inf})
	}
	return remove, nil
}

// unwrap returns the object of an informer event, also for deletions whose
// final state was missed.
func unwrap(obj any) any {
	if t, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

// onOffer wakes the driver for an offer of its framework that is
// outstanding: one that closed or went away brings the scheduler nothing (a
// pass finds the offers outstanding), and thousands of them are deleted
// after a burst.
func (d *Driver) onOffer(obj any) {
	o, ok := unwrap(obj).(*v1alpha1.Offer)
	if ok && o.Namespace == d.fw.Namespace && o.Spec.Framework == d.fw.Name && o.IsOutstanding() && o.DeletionTimestamp == nil {
		d.poke()
	}
}

func (d *Driver) onTask(obj any) {
	t, ok := unwrap(obj).(*v1alpha1.Task)
	if ok && t.Namespace == d.fw.Namespace && t.Spec.Framework == d.fw.Name {
		d.mu.Lock()
		d.dirty[t.Name] = struct{}{}
		d.mu.Unlock()
		d.poke()
	}
}

func (d *Driver) onFramework(obj any) {
	f, ok := unwrap(obj).(*v1alpha1.Framework)
	if ok && f.Namespace == d.fw.Namespace && f.Name == d.fw.Name {
		d.poke()
	}
}

// refuse returns the refuse seconds of a decline; nil means the default.
func refuse(s *int32) int32 { return ptr.Deref(s, DefaultRefuseSeconds) }
