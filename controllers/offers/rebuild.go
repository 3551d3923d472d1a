package offers

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/ledger"
	"meseta.dev/meseta/pkg/resources"
)

// listPageSize is the page size of the LISTs the ledger is rebuilt from.
const listPageSize = 1000

// rebuild resets the ledger from a LIST of every Offer and Task, read from the
// API server and not from the cache:
//   - outstanding offers hold their resources (declined ones are queued to be
//     closed);
//   - bound tasks that are not terminal hold theirs, and so do tasks that an
//     Accepted offer names but that are not bound yet (a master that stopped
//     between accepting and binding): the binding controller finishes them;
//   - terminal tasks are remembered as such;
//   - the offer sequence numbers of each node continue above those in use.
//
// Then it looks again at the offers and tasks that events told of during the
// LISTs, whose news the LISTs may have missed.
func (c *Controller) rebuild(ctx context.Context) error {
	logger := log.FromContext(ctx)
	start := c.clock.Now()
	c.touched.clear()
	var offers v1alpha1.OfferList
	err := listPages(ctx, c.api, func() client.ObjectList { return &v1alpha1.OfferList{} }, func(l client.ObjectList) {
		offers.Items = append(offers.Items, l.(*v1alpha1.OfferList).Items...)
	})
	if err != nil {
		return err
	}
	var tasks v1alpha1.TaskList
	err = listPages(ctx, c.api, func() client.ObjectList { return &v1alpha1.TaskList{} }, func(l client.ObjectList) {
		tasks.Items = append(tasks.Items, l.(*v1alpha1.TaskList).Items...)
	})
	if err != nil {
		return err
	}
	state := ledger.State{Seq: map[string]uint64{}}
	acceptedOn := map[types.NamespacedName]string{}
	var declined []types.NamespacedName
	for i := range offers.Items {
		o := &offers.Items[i]
		key := client.ObjectKeyFromObject(o)
		state.Seq[o.Spec.NodeName] = max(state.Seq[o.Spec.NodeName], seqOf(o))
		switch o.Status.Phase {
		case "", v1alpha1.OfferOutstanding:
			lo, err := ledgerOffer(o)
			if err != nil {
				logger.Error(err, "Ignoring an offer whose resources cannot be read", "offer", key)
				continue
			}
			state.Offers = append(state.Offers, lo)
			if o.Spec.Decline != nil {
				declined = append(declined, key)
			}
		case v1alpha1.OfferAccepted:
			for _, t := range o.Status.Tasks {
				acceptedOn[types.NamespacedName{Namespace: o.Namespace, Name: t}] = o.Spec.NodeName
			}
		}
	}
	for i := range tasks.Items {
		t := &tasks.Items[i]
		if t.IsTerminal() {
			state.Final = append(state.Final, t.UID)
			continue
		}
		if lt, ok := heldBy(t, acceptedOn[client.ObjectKeyFromObject(t)]); ok {
			state.Tasks = append(state.Tasks, lt)
		}
	}
	c.ledger.Reset(state)
	for _, k := range declined {
		c.declines.add(k)
	}
	touchedOffers, touchedTasks := c.touched.stop()
	if err := c.recheck(ctx, touchedOffers, touchedTasks); err != nil {
		return err
	}
	st := c.ledger.Stats()
	logger.Info("Rebuilt the ledger", "nodes", st.Nodes, "offers", st.Offers, "tasks", st.Tasks,
		"duration", c.clock.Since(start).Round(time.Millisecond))
	if err := c.ledger.Check(); err != nil {
		logger.Info("The API holds more than nodes can allocate", "problems", err.Error())
	}
	return nil
}

// recheck looks at the offers and tasks events told of during the rebuild: an
// offer that is gone is removed, and so is a task that is gone or terminal.
func (c *Controller) recheck(ctx context.Context, offers, tasks map[types.NamespacedName]struct{}) error {
	for key := range offers {
		if _, _, ok := c.ledger.Offer(key); !ok {
			continue
		}
		var o v1alpha1.Offer
		err := c.api.Get(ctx, key, &o)
		switch {
		case apierrors.IsNotFound(err):
			c.ledger.RemoveOffer(key)
		case err != nil:
			return fmt.Errorf("failed to get offer %s: %w", key, err)
		case o.Status.Phase.IsFinal():
			c.ledger.RemoveOffer(key)
		case o.Spec.Decline != nil:
			c.declines.add(key)
		}
	}
	for key := range tasks {
		if _, ok := c.ledger.Task(key); !ok {
			continue
		}
		var t v1alpha1.Task
		err := c.api.Get(ctx, key, &t)
		switch {
		case apierrors.IsNotFound(err):
			c.ledger.RemoveTask(key, "", false)
		case err != nil:
			return fmt.Errorf("failed to get task %s: %w", key, err)
		case t.IsTerminal():
			c.ledger.RemoveTask(key, t.UID, true)
		}
	}
	return nil
}

// ledgerOffer returns the ledger's entry for an outstanding Offer.
func ledgerOffer(o *v1alpha1.Offer) (ledger.Offer, error) {
	res, err := resources.FromAPI(o.Spec.Resources)
	if err != nil {
		return ledger.Offer{}, err
	}
	lo := ledger.Offer{
		Key:             client.ObjectKeyFromObject(o),
		UID:             o.UID,
		ResourceVersion: o.ResourceVersion,
		Framework:       types.NamespacedName{Namespace: o.Namespace, Name: o.Spec.Framework},
		Node:            o.Spec.NodeName,
		Resources:       res,
		Seq:             seqOf(o),
	}
	if o.Spec.ExpiresAt != nil {
		lo.ExpiresAt = o.Spec.ExpiresAt.Time
	}
	return lo, nil
}

// listPages lists every object of a kind from the API server, page by page:
// newPage returns an empty list for each page and each is called after it was
// filled.
func listPages(ctx context.Context, c client.Reader, newPage func() client.ObjectList, each func(client.ObjectList)) error {
	cont := ""
	for {
		page := newPage()
		if err := c.List(ctx, page, client.Limit(listPageSize), client.Continue(cont)); err != nil {
			return fmt.Errorf("failed to list %T: %w", page, err)
		}
		each(page)
		cont = page.GetContinue()
		if cont == "" {
			return nil
		}
	}
}
