package offers

import (
	"context"
	"encoding/json"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/controllers/binding"
	"meseta.dev/meseta/pkg/ledger"
)

// closing is an outstanding offer to close, and how.
type closing struct {
	offer   ledger.Offer
	phase   v1alpha1.OfferPhase
	reason  v1alpha1.OfferReason
	message string
}

// offerFacts is what decides whether an outstanding offer must close.
type offerFacts struct {
	declined  bool // spec.decline is set
	node      *nodeInfo
	nodeOver  bool // the node's allocatable shrank below what is committed on it
	framework *frameworkInfo
	// awaitsBinding says whether a task of framework that waits to be bound
	// names offer; asked only when the framework's state would otherwise
	// rescind it. Nil is false.
	awaitsBinding func(offer, framework ledger.Key) bool
	// suppressGrace is how long the offers of a framework that suppressed
	// them stay outstanding.
	suppressGrace time.Duration
}

// closeReason decides whether an outstanding offer must close at now: the
// framework declined it, it expired, its node is gone, not ready, cordoned,
// draining, in maintenance or over-committed, or its framework is gone,
// inactive, suppressed or torn down. ok is false when the offer stays.
//
// A suppression rescinds only after a grace period: a framework may launch on
// the offers it holds as it suppresses, or take its suppression back at once
// (an SDK framework suppresses while its queue is empty and revives when it
// is handed tasks). And an offer that a task waiting to be bound names is not
// rescinded because its framework went inactive or suppressed offers: the
// framework accepted it before that, and the binder decides it.
func closeReason(o *ledger.Offer, f offerFacts, now time.Time) (c closing, ok bool) {
	c = closing{offer: *o, phase: v1alpha1.OfferRescinded}
	switch {
	case f.declined:
		c.phase, c.reason, c.message = v1alpha1.OfferDeclined, v1alpha1.OfferReasonDeclinedByFramework, "declined by the framework"
	case !o.ExpiresAt.IsZero() && !now.Before(o.ExpiresAt):
		c.phase, c.reason, c.message = v1alpha1.OfferExpired, v1alpha1.OfferReasonTimeout, "not used before it expired"
	case f.node == nil:
		c.reason, c.message = v1alpha1.OfferReasonAgentRemoved, "node was removed"
	case !f.node.Ready:
		c.reason, c.message = v1alpha1.OfferReasonAgentRemoved, "node is not ready"
	case f.node.BadAllocation != "":
		c.reason, c.message = v1alpha1.OfferReasonAgentRemoved, "node reports invalid resources: "+f.node.BadAllocation
	case f.nodeOver:
		c.reason, c.message = v1alpha1.OfferReasonReallocated, "node's allocatable resources shrank below what is committed on it"
	default:
		if unschedulable, why := f.node.unschedulable(now); unschedulable {
			c.reason, c.message = v1alpha1.OfferReasonNodeUnschedulable, why
			return c, true
		}
		if f.framework == nil {
			c.reason, c.message = v1alpha1.OfferReasonFrameworkInactive, "framework was removed"
			return c, true
		}
		if active, why := f.framework.active(); !active {
			if f.framework.suppressed() && now.Sub(f.framework.SuppressedSince) < f.suppressGrace {
				return closing{}, false
			}
			if f.framework.mayStillLaunch() && f.awaitsBinding != nil && f.awaitsBinding(o.Key, o.Framework) {
				return closing{}, false
			}
			c.reason, c.message = v1alpha1.OfferReasonFrameworkInactive, why
			return c, true
		}
		return closing{}, false
	}
	return c, true
}

// closeOffers closes every outstanding offer that must close, writing their
// phases in parallel.
func (c *Controller) closeOffers(ctx context.Context, now time.Time) {
	over := map[string]bool{}
	for _, u := range c.ledger.Nodes() {
		if u.Offers > 0 && !u.Allocated.Add(u.Offered).Sub(u.Allocatable).IsZero() {
			over[u.Name] = true
		}
	}
	awaitsBinding := func(offer, framework ledger.Key) bool {
		awaits, err := binding.AwaitsBinding(ctx, c.cache, offer, framework)
		if err != nil {
			log.FromContext(ctx).Error(err, "Cannot tell whether a task waits on an offer; rescinding it", "offer", offer)
		}
		return awaits
	}
	var todo []closing
	for _, st := range c.ledger.Offers() {
		if st.Claimed {
			continue
		}
		facts := offerFacts{declined: c.declines.has(st.Key), nodeOver: over[st.Node],
			suppressGrace: c.opts.SuppressGrace, awaitsBinding: awaitsBinding}
		if n, ok := c.world.node(st.Node); ok {
			facts.node = &n
		}
		if f, ok := c.world.framework(st.Framework); ok {
			facts.framework = &f
		}
		cl, ok := closeReason(&st.Offer, facts, now)
		if !ok {
			continue
		}
		if _, err := c.ledger.Claim(st.Key); err != nil {
			continue // a binding claimed it meanwhile: the first claim wins
		}
		todo = append(todo, cl)
	}
	parallel(ctx, c.opts.Workers, len(todo), func(i int) {
		c.writeClose(ctx, todo[i], true)
	})
	if len(todo) > 0 {
		c.Trigger() // what was offered is free again
	}
}

// offerStatusPatch is a merge patch of an Offer's status with a
// resourceVersion precondition.
type offerStatusPatch struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion,omitempty"`
	} `json:"metadata"`
	Status struct {
		Phase    v1alpha1.OfferPhase  `json:"phase"`
		Reason   v1alpha1.OfferReason `json:"reason"`
		Message  string               `json:"message"`
		ClosedAt metav1.Time          `json:"closedAt"`
	} `json:"status"`
}

// writeClose writes the phase of an offer that claimed says is claimed by
// the caller, under a resourceVersion precondition, and then removes it from
// the ledger. On a conflict it reads the offer again: when it is still
// outstanding it tries again, when it was closed or deleted by someone else
// it only removes it. Other errors give the claim up, for the next cycle.
func (c *Controller) writeClose(ctx context.Context, cl closing, claimed bool) {
	key := cl.offer.Key
	rv := cl.offer.ResourceVersion
	for attempt := 0; attempt < 3; attempt++ {
		var p offerStatusPatch
		p.Metadata.ResourceVersion = rv
		p.Status.Phase, p.Status.Reason, p.Status.Message = cl.phase, cl.reason, cl.message
		p.Status.ClosedAt = metav1.NewTime(c.clock.Now())
		body, _ := json.Marshal(p)
		obj := &v1alpha1.Offer{}
		obj.Name, obj.Namespace = key.Name, key.Namespace
		err := c.api.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, body), client.FieldOwner(FieldOwner))
		switch {
		case err == nil:
			c.closed(key, cl.phase)
			return
		case apierrors.IsNotFound(err):
			c.closed(key, v1alpha1.OfferDeclined) // deleted: a decline
			return
		case apierrors.IsConflict(err):
			var fresh v1alpha1.Offer
			gerr := c.api.Get(ctx, key, &fresh)
			switch {
			case apierrors.IsNotFound(gerr):
				c.closed(key, v1alpha1.OfferDeclined)
				return
			case gerr != nil:
				err = gerr
			case fresh.Status.Phase.IsFinal():
				c.closed(key, fresh.Status.Phase)
				return
			default:
				rv = fresh.ResourceVersion
				if fresh.Spec.Decline != nil && cl.phase != v1alpha1.OfferDeclined {
					cl.phase, cl.reason, cl.message = v1alpha1.OfferDeclined, v1alpha1.OfferReasonDeclinedByFramework, "declined by the framework"
				}
				continue
			}
		}
		log.FromContext(ctx).Error(err, "Failed to close an offer", "offer", key, "phase", cl.phase)
		break
	}
	if claimed {
		c.ledger.Unclaim(key)
	}
}

// closed records that an offer is no longer outstanding.
func (c *Controller) closed(key types.NamespacedName, phase v1alpha1.OfferPhase) {
	c.ledger.RemoveOffer(key)
	c.declines.remove(key)
	c.metrics.closed.WithLabelValues(string(phase)).Inc()
}
