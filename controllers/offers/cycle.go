package offers

import (
	"context"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/allocator"
	"meseta.dev/meseta/pkg/ledger"
)

// planResult is the outcome of the latest allocation cycle, for the status
// writer.
type planResult struct {
	plan *allocator.Plan
	at   time.Time
	// offered counts, per framework, the offers the cycle made.
	offered map[types.NamespacedName]int
}

// cycle runs one allocation cycle: it acts on revives, closes the offers that
// must close, and makes the offers the allocator plans.
func (c *Controller) cycle(ctx context.Context) {
	start := c.clock.Now()
	c.revive()
	c.closeOffers(ctx, start)
	s := c.snapshot(c.clock.Now())
	plan := allocator.Allocate(s)
	allocated := c.clock.Since(start)
	made := c.makeOffers(ctx, plan, s.Now)
	res := &planResult{plan: plan, at: s.Now, offered: map[types.NamespacedName]int{}}
	for _, o := range plan.Offers {
		res.offered[o.Framework]++
	}
	c.lastPlan.Store(res)
	c.metrics.observeCycle(allocated, c.clock.Since(start), made, c.ledger.Stats())
	if made > 0 {
		log.FromContext(ctx).V(1).Info("Made offers", "offers", made, "allocation", allocated, "cycle", c.clock.Since(start))
	}
}

// revive clears the filters of every framework whose spec.revive changed
// since the master last acted on it; the status writer then records
// status.observedRevive.
func (c *Controller) revive() {
	for _, key := range c.world.frameworkKeys() {
		f, ok := c.world.framework(key)
		if !ok {
			continue
		}
		if done, ok := c.revived.Load(key); ok && done.(int64) == f.Revive {
			continue
		}
		if f.Revive == f.ObservedRevive {
			c.revived.Store(key, f.Revive)
			continue
		}
		c.filters.clear(key)
		c.revived.Store(key, f.Revive)
		c.status.urgent(key)
	}
}

// observedRevive returns the spec.revive the master acted on for a framework.
func (c *Controller) observedRevive(key types.NamespacedName, f *frameworkInfo) int64 {
	if v, ok := c.revived.Load(key); ok {
		return v.(int64)
	}
	return f.ObservedRevive
}

// snapshot builds the allocator's snapshot from the ledger's accounting and
// what the informers told of nodes, frameworks and roles.
func (c *Controller) snapshot(now time.Time) *allocator.Snapshot {
	usage := c.ledger.Nodes()
	fwUsage := c.ledger.Frameworks()
	s := &allocator.Snapshot{Now: now, Seed: c.seed.Add(1), MinAllocatable: c.opts.MinAllocatable}
	s.Nodes = make([]allocator.Node, 0, len(usage))
	c.world.mu.RLock()
	defer c.world.mu.RUnlock()
	for _, u := range usage {
		info, ok := c.world.nodes[u.Name]
		if !ok || !u.Known {
			continue
		}
		unschedulable, _ := info.unschedulable(now)
		s.Nodes = append(s.Nodes, allocator.Node{
			Name:          u.Name,
			Allocatable:   u.Allocatable,
			Allocated:     u.Allocated,
			Offered:       u.Offered,
			Attributes:    info.Attributes,
			Ready:         info.Ready && info.BadAllocation == "",
			Unschedulable: unschedulable,
		})
	}
	s.Frameworks = make([]allocator.Framework, 0, len(c.world.frameworks))
	for key, f := range c.world.frameworks {
		u := fwUsage[key]
		s.Frameworks = append(s.Frameworks, allocator.Framework{
			Key:            key,
			Role:           f.Role,
			Active:         !f.Deleting && (f.Phase == v1alpha1.FrameworkActive || f.Phase == v1alpha1.FrameworkSuppressed),
			Suppressed:     f.Suppressed || f.Phase == v1alpha1.FrameworkSuppressed,
			GPUCapable:     f.GPU,
			Allocated:      u.Allocated,
			Offered:        u.Offered,
			Filters:        c.filters.active(key, now),
			MinAllocatable: f.MinAllocatable,
		})
	}
	s.Roles = make([]allocator.Role, 0, len(c.world.roles))
	for name, r := range c.world.roles {
		s.Roles = append(s.Roles, allocator.Role{Name: name, Weight: r.Weight, Limit: r.Limit, Guarantee: r.Guarantee})
	}
	return s
}

// makeOffers records the plan's offers in the ledger, then creates their
// Offer objects in parallel. It returns how many it created.
func (c *Controller) makeOffers(ctx context.Context, plan *allocator.Plan, now time.Time) int {
	logger := log.FromContext(ctx)
	objs := make([]*v1alpha1.Offer, 0, len(plan.Offers))
	for i := range plan.Offers {
		po := &plan.Offers[i]
		f, ok := c.world.framework(po.Framework)
		if !ok {
			continue
		}
		seq := c.ledger.NextSeq(po.Node)
		lo := ledger.Offer{
			Key:       types.NamespacedName{Namespace: po.Framework.Namespace, Name: offerName(po.Framework.Name, po.Node, seq)},
			Framework: po.Framework,
			Node:      po.Node,
			Resources: po.Resources,
			Seq:       seq,
		}
		if c.opts.OfferTimeout > 0 {
			lo.ExpiresAt = ceilSecond(now.Add(c.opts.OfferTimeout))
		}
		if err := c.ledger.AddOffer(lo); err != nil {
			// The node changed since the snapshot (an operator's task was admitted).
			logger.V(1).Info("Offer not made", "offer", lo.Key, "reason", err.Error())
			continue
		}
		// In flight from now, while it waits for a worker too (see creating).
		c.creating.Store(lo.Key, struct{}{})
		objs = append(objs, offerObject(&lo, po.Attributes, f.UID))
	}
	var made atomic.Int64
	parallel(ctx, c.opts.Workers, len(objs), func(i int) {
		if c.createOffer(ctx, objs[i]) {
			made.Add(1)
		}
	})
	return int(made.Load())
}

// ceilSecond rounds t up to a whole second, the precision of an Offer's
// expiresAt, so that an offer never expires before its timeout.
func ceilSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); !r.Equal(t) {
		return r.Add(time.Second)
	}
	return t
}

// offerObject returns the Offer object of a ledger offer, owned by its
// framework so that deleting the framework deletes its offers.
func offerObject(lo *ledger.Offer, attributes map[string]string, fwUID types.UID) *v1alpha1.Offer {
	o := &v1alpha1.Offer{
		ObjectMeta: metav1.ObjectMeta{
			Name:        lo.Key.Name,
			Namespace:   lo.Key.Namespace,
			Annotations: map[string]string{SeqAnnotation: strconv.FormatUint(lo.Seq, 10)},
		},
		Spec: v1alpha1.OfferSpec{
			Framework:  lo.Framework.Name,
			NodeName:   lo.Node,
			Resources:  lo.Resources.ToAPI(),
			Attributes: maps.Clone(attributes),
		},
	}
	if !lo.ExpiresAt.IsZero() {
		o.Spec.ExpiresAt = &metav1.Time{Time: lo.ExpiresAt}
	}
	if fwUID != "" {
		o.OwnerReferences = []metav1.OwnerReference{{
			APIVersion: v1alpha1.GroupVersion.String(),
			Kind:       "Framework",
			Name:       lo.Framework.Name,
			UID:        fwUID,
		}}
	}
	return o
}

// createOffer creates an Offer the ledger holds already, and settles the
// ledger with the outcome. It reports whether the offer was created.
func (c *Controller) createOffer(ctx context.Context, o *v1alpha1.Offer) bool {
	key := client.ObjectKeyFromObject(o)
	defer c.creating.Delete(key)
	err := c.api.Create(ctx, o, client.FieldOwner(FieldOwner))
	switch {
	case err == nil:
		c.ledger.SetOfferCreated(key, o.UID, o.ResourceVersion)
		c.metrics.made.Inc()
		return true
	case apierrors.IsAlreadyExists(err):
		// Only a master that lost its ledger writes this name twice: find out what
		// the API holds.
		c.ledger.RemoveOffer(key)
		c.adopt(ctx, key)
	case apierrors.IsInvalid(err), apierrors.IsForbidden(err), apierrors.IsNotFound(err), apierrors.IsBadRequest(err):
		log.FromContext(ctx).Info("Offer refused by the API server", "offer", key, "error", err.Error())
		c.ledger.RemoveOffer(key)
	default:
		// The offer may have been created all the same.
		var got v1alpha1.Offer
		gerr := c.api.Get(ctx, key, &got)
		switch {
		case apierrors.IsNotFound(gerr):
			c.ledger.RemoveOffer(key)
		case gerr == nil:
			c.ledger.SetOfferCreated(key, got.UID, got.ResourceVersion)
			return true
		default:
			// Keep holding it; the audit of the collector settles it.
			log.FromContext(ctx).Error(err, "Failed to create an offer", "offer", key)
		}
	}
	return false
}

// adopt records an outstanding Offer that the ledger does not hold, found in
// the API (created by an earlier leader, or by a create that seemed to fail);
// when the node cannot hold it any more, it rescinds it.
func (c *Controller) adopt(ctx context.Context, key types.NamespacedName) {
	var o v1alpha1.Offer
	if err := c.api.Get(ctx, key, &o); err != nil || o.Status.Phase.IsFinal() {
		return
	}
	if _, _, known := c.ledger.Offer(key); known {
		return
	}
	lo, err := ledgerOffer(&o)
	if err == nil {
		err = c.ledger.AddOffer(lo)
	}
	if err == nil {
		log.FromContext(ctx).Info("Adopted an outstanding offer the ledger did not hold", "offer", key)
		if o.Spec.Decline != nil {
			c.declines.add(key)
		}
		return
	}
	// It cannot be held: take it back.
	lo.ResourceVersion = o.ResourceVersion
	c.writeClose(ctx, closing{offer: lo, phase: v1alpha1.OfferRescinded, reason: v1alpha1.OfferReasonReallocated,
		message: "the node cannot hold this offer: " + err.Error()}, false)
}

// parallel calls fn(0), ..., fn(n-1) on at most workers goroutines and waits
// for them; it stops handing out work when ctx ends.
func parallel(ctx context.Context, workers, n int, fn func(i int)) {
	if n == 0 {
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				fn(int(i))
			}
		})
	}
	wg.Wait()
}
