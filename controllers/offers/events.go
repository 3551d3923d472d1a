package offers

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/controllers/binding"
	"meseta.dev/meseta/pkg/ledger"
	"meseta.dev/meseta/pkg/resources"
)

// registerHandlers adds the controller's handlers to the informers of Nodes,
// Frameworks, Roles, Offers and Tasks, and waits until each has been told of
// every object in the cache.
func (c *Controller) registerHandlers(ctx context.Context) error {
	kinds := []struct {
		obj client.Object
		fn  func(obj any, deleted bool)
	}{
		{&v1alpha1.Node{}, c.onNode},
		{&v1alpha1.Framework{}, c.onFramework},
		{&v1alpha1.Role{}, c.onRole},
		{&v1alpha1.Offer{}, c.onOffer},
		{&v1alpha1.Task{}, c.onTask},
	}
	var regs []toolscache.ResourceEventHandlerRegistration
	for _, k := range kinds {
		inf, err := c.cache.GetInformer(ctx, k.obj)
		if err != nil {
			return fmt.Errorf("failed to get the informer of %T: %w", k.obj, err)
		}
		fn := k.fn
		reg, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { fn(obj, false) },
			UpdateFunc: func(_, obj any) { fn(obj, false) },
			DeleteFunc: func(obj any) { fn(obj, true) },
		})
		if err != nil {
			return fmt.Errorf("failed to watch %T: %w", k.obj, err)
		}
		regs = append(regs, reg)
	}
	for _, reg := range regs {
		if !toolscache.WaitForCacheSync(ctx.Done(), reg.HasSynced) {
			return ctx.Err()
		}
	}
	return nil
}

// unwrap returns the object of an event, looking into a deletion tombstone.
func unwrap[T any](obj any) (T, bool) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	t, ok := obj.(T)
	return t, ok
}

func (c *Controller) onNode(obj any, deleted bool) {
	n, ok := unwrap[*v1alpha1.Node](obj)
	if !ok {
		return
	}
	if deleted {
		c.world.deleteNode(n.Name)
		c.ledger.ForgetNode(n.Name)
		c.Trigger()
		return
	}
	info := nodeInfoOf(n)
	c.ledger.SetAllocatable(n.Name, info.Allocatable)
	if c.world.setNode(n.Name, info) {
		c.Trigger()
	}
}

func (c *Controller) onFramework(obj any, deleted bool) {
	f, ok := unwrap[*v1alpha1.Framework](obj)
	if !ok {
		return
	}
	key := client.ObjectKeyFromObject(f)
	if deleted {
		c.world.deleteFramework(key)
		c.filters.clear(key)
		c.revived.Delete(key)
		c.Trigger()
		return
	}
	if c.world.setFramework(key, frameworkInfoOf(f), c.clock.Now()) {
		c.Trigger()
	}
}

func (c *Controller) onRole(obj any, deleted bool) {
	r, ok := unwrap[*v1alpha1.Role](obj)
	if !ok {
		return
	}
	if deleted {
		c.world.deleteRole(r.Name)
		c.Trigger()
		return
	}
	if c.world.setRole(r.Name, roleInfoOf(r)) {
		c.Trigger()
	}
}

// onOffer notices declines: spec.decline set on an outstanding offer, or an
// outstanding offer deleted.
func (c *Controller) onOffer(obj any, deleted bool) {
	o, ok := unwrap[*v1alpha1.Offer](obj)
	if !ok {
		return
	}
	key := client.ObjectKeyFromObject(o)
	c.touched.offer(key)
	lo, claimed, known := c.ledger.Offer(key)
	if !known || (lo.UID != "" && lo.UID != o.UID) {
		return
	}
	fw := types.NamespacedName{Namespace: o.Namespace, Name: o.Spec.Framework}
	if deleted {
		if claimed {
			return // the claimer's write meets NotFound and removes it
		}
		if _, removed := c.ledger.RemoveOffer(key); removed {
			c.filters.add(fw, o.Spec.NodeName, refuseUntil(c.clock.Now(), declineSeconds(o)))
			c.metrics.closed.WithLabelValues(string(v1alpha1.OfferDeclined)).Inc()
			c.Trigger()
		}
		return
	}
	c.ledger.SetOfferVersion(key, o.ResourceVersion)
	if o.Spec.Decline != nil && !o.Status.Phase.IsFinal() {
		// A decline cannot be withdrawn, so the filter starts now, before the
		// offer's phase is written.
		c.filters.add(fw, o.Spec.NodeName, refuseUntil(c.clock.Now(), o.Spec.Decline.RefuseSeconds))
		c.declines.add(key)
		c.Trigger()
	}
}

func declineSeconds(o *v1alpha1.Offer) *int32 {
	if o.Spec.Decline != nil {
		return o.Spec.Decline.RefuseSeconds
	}
	return nil
}

// onTask releases what tasks that reached a terminal state or were deleted
// held, and records bound tasks the ledger does not know (an operator's task
// that the agent started before it was admitted).
func (c *Controller) onTask(obj any, deleted bool) {
	t, ok := unwrap[*v1alpha1.Task](obj)
	if !ok {
		return
	}
	key := client.ObjectKeyFromObject(t)
	c.touched.task(key)
	switch {
	case deleted:
		if c.ledger.RemoveTask(key, t.UID, false) {
			c.Trigger()
		}
		c.ledger.ForgetFinal(t.UID)
	case t.IsTerminal():
		if c.ledger.RemoveTask(key, t.UID, true) {
			c.Trigger()
		}
	case c.ledger.IsReady():
		if lt, ok := heldBy(t, ""); ok {
			c.ledger.ObserveTask(lt)
		}
	}
}

// heldBy returns the ledger entry of a task that holds resources on a node:
// not terminal, and bound by the master (through offers, or admitted after an
// operator placed it), or already started by the agent. acceptedOn is the node
// of an offer accepted for the task, which makes a task that is still being
// bound hold resources there.
func heldBy(t *v1alpha1.Task, acceptedOn string) (ledger.Task, bool) {
	if t.IsTerminal() {
		return ledger.Task{}, false
	}
	node := t.Spec.NodeName
	switch {
	case node == "" && acceptedOn != "":
		node = acceptedOn
	case node == "":
		return ledger.Task{}, false
	case len(t.Spec.Offers) == 0 && t.Status.State == "" && !binding.Admitted(t):
		return ledger.Task{}, false // an operator's task not yet admitted
	}
	res, err := resources.FromAPI(t.Spec.Resources)
	if err != nil {
		return ledger.Task{}, false
	}
	return ledger.Task{
		Key:       client.ObjectKeyFromObject(t),
		UID:       t.UID,
		Framework: types.NamespacedName{Namespace: t.Namespace, Name: t.Spec.Framework},
		Node:      node,
		Resources: res,
	}, true
}

// declineQueue holds the offers whose framework declined them, until their
// phase is written.
type declineQueue struct {
	mu   sync.Mutex
	keys map[types.NamespacedName]struct{}
}

func (q *declineQueue) add(key types.NamespacedName) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.keys == nil {
		q.keys = map[types.NamespacedName]struct{}{}
	}
	q.keys[key] = struct{}{}
}

func (q *declineQueue) remove(key types.NamespacedName) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.keys, key)
}

func (q *declineQueue) has(key types.NamespacedName) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.keys[key]
	return ok
}

// touchedKeys records the offers and tasks that events told of while the
// ledger was being rebuilt, so that the rebuild can look at them again: an
// event that arrived between the LIST and the reset of the ledger would be
// lost otherwise.
type touchedKeys struct {
	mu     sync.Mutex
	active bool
	offers map[types.NamespacedName]struct{}
	tasks  map[types.NamespacedName]struct{}
}

func newTouchedKeys() *touchedKeys {
	return &touchedKeys{active: true, offers: map[types.NamespacedName]struct{}{}, tasks: map[types.NamespacedName]struct{}{}}
}

func (k *touchedKeys) offer(key types.NamespacedName) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.active {
		k.offers[key] = struct{}{}
	}
}

func (k *touchedKeys) task(key types.NamespacedName) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.active {
		k.tasks[key] = struct{}{}
	}
}

// stop ends the recording and returns what was recorded.
func (k *touchedKeys) stop() (offers, tasks map[types.NamespacedName]struct{}) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.active = false
	offers, tasks = k.offers, k.tasks
	k.offers, k.tasks = nil, nil
	return offers, tasks
}

// clear forgets what was recorded so far, when a LIST starts.
func (k *touchedKeys) clear() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.active = true
	k.offers = map[types.NamespacedName]struct{}{}
	k.tasks = map[types.NamespacedName]struct{}{}
}
