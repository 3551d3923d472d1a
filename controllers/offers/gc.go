package offers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"
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

// gcWorkers is how many closed offers are deleted at once.
const gcWorkers = 4

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

// collectOnce adopts outstanding Offers the ledger does not hold, drops
// ledger offers whose Offer is gone (never one whose create is still in
// flight), checks the ledger's invariants, and then deletes offers closed
// longer than ClosedOfferTTL ago (an Accepted one only once all its tasks are
// bound or gone), as many as deleteQuota allows, paced over the interval.
func (c *Controller) collectOnce(ctx context.Context, missing map[types.NamespacedName]int) {
	logger := log.FromContext(ctx)
	now := c.clock.Now()
	var offers v1alpha1.OfferList
	if err := c.cache.List(ctx, &offers, client.UnsafeDisableDeepCopy); err != nil {
		return
	}
	inCache := make(map[types.NamespacedName]*v1alpha1.Offer, len(offers.Items))
	var doomed []closedOffer
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
			doomed = append(doomed, closedOffer{o, closedAt})
		}
	}
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
	c.deleteClosed(ctx, doomed)
}

// closedOffer is an offer due for deletion and when it closed.
type closedOffer struct {
	*v1alpha1.Offer
	closedAt time.Time
}

// deleteClosed deletes the oldest closed of doomed, as many as deleteQuota
// allows, spread evenly over one GCInterval.
func (c *Controller) deleteClosed(ctx context.Context, doomed []closedOffer) {
	n := deleteQuota(len(doomed), c.opts.GCInterval, c.opts.ClosedOfferTTL, c.opts.GCDeletesPerSecond)
	if n == 0 {
		return
	}
	slices.SortFunc(doomed, func(a, b closedOffer) int { return a.closedAt.Compare(b.closedAt) })
	pace := rate.NewLimiter(rate.Limit(float64(n)/c.opts.GCInterval.Seconds()), gcWorkers)
	parallel(ctx, gcWorkers, n, func(i int) {
		if pace.Wait(ctx) != nil {
			return
		}
		o := doomed[i].Offer
		err := c.api.Delete(ctx, o, client.Preconditions{UID: &o.UID})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			log.FromContext(ctx).V(1).Info("Failed to delete a closed offer", "offer", client.ObjectKeyFromObject(o), "error", err.Error())
		}
	})
}

// deleteQuota returns how many of due closed offers one collection every
// interval deletes: at least perSecond's worth, more when that would not
// clear the backlog within ttl (a backlog of due offers is deleted over at
// most one more ttl), never more than are due.
func deleteQuota(due int, interval, ttl time.Duration, perSecond float64) int {
	if due <= 0 || interval <= 0 {
		return 0
	}
	n := math.Ceil(perSecond * interval.Seconds())
	if ttl > 0 {
		n = max(n, math.Ceil(float64(due)*interval.Seconds()/ttl.Seconds()))
	}
	return int(min(n, float64(due)))
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
