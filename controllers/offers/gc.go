package offers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/ledger"
	"meseta.dev/meseta/pkg/resources"
)

// adoptAfter is how old an outstanding Offer the ledger does not hold must be
// before the audit adopts it (younger ones may be in flight).
const adoptAfter = 30 * time.Second

// collect runs, every GCInterval, the collection of closed offers and the
// audit of the ledger.
func (c *Controller) collect(ctx context.Context) {
	ticker := c.clock.NewTicker(c.opts.GCInterval)
	defer ticker.Stop()
	missing := map[types.NamespacedName]int{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
		}
		c.collectOnce(ctx, missing)
	}
}

// collectOnce deletes offers closed longer than ClosedOfferTTL ago (an
// Accepted one only once all its tasks are bound or gone), adopts outstanding
// Offers the ledger does not hold, drops ledger offers whose Offer is gone
// (never one whose create is still in flight), and checks the ledger's
// invariants.
func (c *Controller) collectOnce(ctx context.Context, missing map[types.NamespacedName]int) {
	logger := log.FromContext(ctx)
	now := c.clock.Now()
	var offers v1alpha1.OfferList
	if err := c.cache.List(ctx, &offers, client.UnsafeDisableDeepCopy); err != nil {
		return
	}
	inCache := make(map[types.NamespacedName]*v1alpha1.Offer, len(offers.Items))
	var doomed []*v1alpha1.Offer
	var strays []types.NamespacedName
	for i := range offers.Items {
		o := &offers.Items[i]
		key := client.ObjectKeyFromObject(o)
		inCache[key] = o
		if !o.Status.Phase.IsFinal() {
			if _, _, ok := c.ledger.Offer(key); !ok && now.Sub(o.CreationTimestamp.Time) > adoptAfter {
				strays = append(strays, key)
			}
			continue
		}
		closedAt := o.CreationTimestamp.Time
		if o.Status.ClosedAt != nil {
			closedAt = o.Status.ClosedAt.Time
		}
		if now.Sub(closedAt) >= c.opts.ClosedOfferTTL && c.tasksSettled(ctx, o) {
			doomed = append(doomed, o)
		}
	}
	parallel(ctx, c.opts.Workers, len(doomed), func(i int) {
		o := doomed[i]
		err := c.api.Delete(ctx, o, client.Preconditions{UID: &o.UID})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			logger.V(1).Info("Failed to delete a closed offer", "offer", client.ObjectKeyFromObject(o), "error", err.Error())
		}
	})
	for _, key := range strays {
		c.adopt(ctx, key)
	}
	var ask []types.NamespacedName
	for _, st := range c.ledger.Offers() {
		if o := inCache[st.Key]; o != nil && st.UID == "" && sameOffer(o, &st.Offer) {
			// Created, but the create's answer was lost.
			c.ledger.SetOfferCreated(st.Key, o.UID, o.ResourceVersion)
		}
		if _, inFlight := c.creating.Load(st.Key); inFlight || inCache[st.Key] != nil || st.Claimed {
			delete(missing, st.Key)
			continue
		}
		// Missing from the cache twice in a row: ask the API server.
		if missing[st.Key]++; missing[st.Key] < 2 {
			continue
		}
		delete(missing, st.Key)
		ask = append(ask, st.Key)
	}
	// Many at once when a burst of them went missing: each one held in the
	// ledger keeps its node's resources from being offered again.
	// why says, for each offer the API server does not hold as outstanding,
	// what it holds instead (to tell who closed it and when).
	why := make([]string, len(ask))
	parallel(ctx, c.opts.Workers, len(ask), func(i int) {
		var o v1alpha1.Offer
		err := c.api.Get(ctx, ask[i], &o)
		switch {
		case apierrors.IsNotFound(err):
			why[i] = "gone"
		case err == nil && o.Status.Phase.IsFinal():
			why[i] = closedAs(&o)
		}
	})
	var dropped []string
	for i, key := range ask {
		if why[i] != "" {
			c.ledger.RemoveOffer(key)
			dropped = append(dropped, key.String()+" ("+why[i]+")")
		}
	}
	if len(dropped) > 0 {
		c.metrics.auditDropped.Add(float64(len(dropped)))
		logger.Info("Dropped offers the API server does not hold as outstanding", "count", len(dropped), "offers", firstOf(dropped, 10))
		c.Trigger() // what they held is free again
	}
	err := c.ledger.Check()
	c.metrics.violations.Set(float64(len(unjoin(err))))
	if err != nil {
		logger.Info("Ledger audit found problems", "problems", err.Error())
	}
}

// tasksSettled reports whether every task an Accepted offer names is bound,
// terminal or gone, so that the offer is no longer needed to bind them.
func (c *Controller) tasksSettled(ctx context.Context, o *v1alpha1.Offer) bool {
	if o.Status.Phase != v1alpha1.OfferAccepted {
		return true
	}
	for _, name := range o.Status.Tasks {
		var t v1alpha1.Task
		err := c.cache.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: name}, &t, client.UnsafeDisableDeepCopy)
		if err == nil && !t.IsBound() && !t.IsTerminal() {
			return false
		}
	}
	return true
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{errors.Unwrap(err)}
}

// sameOffer reports whether an Offer object is the one the ledger recorded.
func sameOffer(o *v1alpha1.Offer, lo *ledger.Offer) bool {
	res, err := resources.FromAPI(o.Spec.Resources)
	return err == nil && o.Spec.Framework == lo.Framework.Name && o.Spec.NodeName == lo.Node && res.Equal(lo.Resources)
}

// firstOf returns the first n of names, with how many more there are.
func firstOf(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}

// closedAs describes how a closed offer closed: phase, reason and when.
func closedAs(o *v1alpha1.Offer) string {
	out := string(o.Status.Phase)
	if o.Status.Reason != "" {
		out += "/" + string(o.Status.Reason)
	}
	if o.Status.ClosedAt != nil {
		out += " at " + o.Status.ClosedAt.UTC().Format(time.RFC3339)
	}
	return out
}
