package sdk

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
)

const (
	// claimTTL is how long an offer the driver launched on or declined is kept
	// from the scheduler while the master has not closed it.
	claimTTL = 2 * time.Minute
	// createdWait is how long a pass waits for the cache to show tasks the
	// driver created, so that the scheduler reads its own launches.
	createdWait = 5 * time.Second
	// createdMemory is how long the driver remembers a task it created that
	// its cache does not show yet, so as not to create it again.
	createdMemory = claimTTL
)

// LaunchErrorHandler is implemented by a Scheduler that wants to know when a
// task of a Launch could not be created (the API server refused it). The
// offers of the launch stay outstanding unless another task used them.
type LaunchErrorHandler interface {
	LaunchFailed(ctx context.Context, d *Driver, task *v1alpha1.Task, err error)
}

// deliverOffers calls ResourceOffers with the outstanding offers the scheduler
// has not acted on yet, and applies its decisions.
func (d *Driver) deliverOffers(ctx context.Context, obj *v1alpha1.Framework) error {
	if wait := d.pendingCreates(ctx, d.cache); wait > 0 {
		return waitError(wait)
	}
	offers, err := d.outstanding(ctx)
	if err != nil {
		return err
	}
	d.mu.Lock()
	forced := d.offerPass
	d.offerPass = false
	d.mu.Unlock()
	if len(offers) == 0 && !forced {
		return nil
	}
	decisions := d.sched.ResourceOffers(ctx, d, offers)
	d.apply(ctx, obj, decisions)
	return nil
}

// pendingCreates returns how long to wait for the cache to show the tasks the
// driver created; zero when it shows them all, or they are too old to wait
// for. Tasks it stops waiting for are still remembered (createdMemory), so
// that a launch does not create them again, until the task's delivery (see
// deliver) or its age forgets them; the cache is read only for those still
// waited for.
func (d *Driver) pendingCreates(ctx context.Context, cache client.Reader) time.Duration {
	now := d.now()
	var wait time.Duration
	for name, at := range d.created {
		switch age := now.Sub(at); {
		case age > createdMemory:
			delete(d.created, name)
		case age <= createdWait:
			t := &v1alpha1.Task{}
			if err := cache.Get(ctx, client.ObjectKey{Namespace: d.fw.Namespace, Name: name}, t); err == nil {
				delete(d.created, name)
			} else {
				wait = 20 * time.Millisecond
			}
		}
	}
	return wait
}

// exists reports whether the driver knows that a task of this name exists:
// its cache showed it (and not its deletion), or the driver created it.
func (d *Driver) exists(name string) bool {
	if _, ok := d.known[name]; ok {
		return true
	}
	_, ok := d.created[name]
	return ok
}

// outstanding returns the framework's outstanding offers, sorted by name, less
// those claimed by an earlier decision and those that its live tasks name
// (launched by this process or an earlier one, before a failover); it
// forgets claims on closed offers.
func (d *Driver) outstanding(ctx context.Context) ([]v1alpha1.Offer, error) {
	list := &v1alpha1.OfferList{}
	if err := d.cache.List(ctx, list, client.InNamespace(d.fw.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("failed to list offers: %w", err)
	}
	now := d.now()
	open := map[string]bool{}
	var candidates []*v1alpha1.Offer
	for i := range list.Items {
		o := &list.Items[i]
		if o.Spec.Framework != d.fw.Name || !o.IsOutstanding() || o.DeletionTimestamp != nil {
			continue
		}
		open[o.Name] = true
		if at, ok := d.claims[o.Name]; ok && now.Sub(at) < claimTTL {
			continue
		}
		candidates = append(candidates, o)
	}
	for name := range d.claims {
		if !open[name] {
			delete(d.claims, name)
		}
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	// The namespace's tasks are read only when some offer may be delivered:
	// a framework with thousands of tasks passes often while its closed
	// offers wait to be deleted.
	tasks := &v1alpha1.TaskList{}
	if err := d.cache.List(ctx, tasks, client.InNamespace(d.fw.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("failed to list tasks: %w", err)
	}
	named := offersNamedByLiveTasks(d.fw.Name, tasks.Items)
	var out []v1alpha1.Offer
	for _, o := range candidates {
		if !named.holds(o) {
			out = append(out, *o.DeepCopy())
		}
	}
	slices.SortFunc(out, func(a, b v1alpha1.Offer) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// namedOffers maps the name of an offer to the creation time of the newest
// live task that names it.
type namedOffers map[string]time.Time

// offersNamedByLiveTasks returns the offers that framework fw's tasks not in
// a terminal state name. tasks is read only (the cache's own).
//
// Such an offer is spoken for even when the cache still shows it
// outstanding: a task waiting to be bound is about to have it accepted, and
// a bound task's offer was accepted already, though the cache's watch of
// offers may not show that yet (under load it lags the watch of tasks, and a
// claim does not outlast claimTTL). A launch onto it would only be Dropped.
func offersNamedByLiveTasks(fw string, tasks []v1alpha1.Task) namedOffers {
	out := namedOffers{}
	for i := range tasks {
		t := &tasks[i]
		if t.Spec.Framework != fw || t.IsTerminal() {
			continue
		}
		for _, o := range t.Spec.Offers {
			if at := t.CreationTimestamp.Time; at.After(out[o]) {
				out[o] = at
			}
		}
	}
	return out
}

// holds reports whether a live task names offer o. Only a task created no
// earlier than o counts (to the second): one created before o names an
// older offer of the same name, if the master ever reused it.
func (n namedOffers) holds(o *v1alpha1.Offer) bool {
	at, ok := n[o.Name]
	return ok && !at.Before(o.CreationTimestamp.Time)
}

// apply carries out the scheduler's decisions: launches first, then declines
// of offers no launch used. The calls of each step run concurrently
// (ApplyConcurrency at once): a batch of offers answered one call after the
// other would take longer than the master waits for the rest of a launch;
// their outcomes are recorded in order, on the driver's goroutine.
func (d *Driver) apply(ctx context.Context, obj *v1alpha1.Framework, decisions []Decision) {
	logger := log.FromContext(ctx)
	var (
		launches []Launch
		declines []Decline
	)
	for _, dec := range decisions {
		switch dec := normalize(dec).(type) {
		case Launch:
			if len(dec.Offers) == 0 {
				logger.Error(nil, "Ignoring a launch without offers", "tasks", len(dec.Tasks))
				continue
			}
			launches = append(launches, dec)
		case Decline:
			declines = append(declines, dec)
		}
	}
	used := map[string]bool{}
	for i, ok := range d.launchAll(ctx, obj, launches) {
		if ok {
			for _, o := range launches[i].Offers {
				used[o] = true
			}
		}
	}
	var todo []Decline
	for _, dec := range declines {
		if used[dec.Offer] {
			logger.Info("Not declining an offer a launch used", "offer", dec.Offer)
			continue
		}
		used[dec.Offer] = true
		todo = append(todo, dec)
	}
	d.declineAll(ctx, todo)
}

// normalize turns pointers to decisions into decisions; nil stays nil.
func normalize(dec Decision) Decision {
	switch dec := dec.(type) {
	case *Launch:
		if dec != nil {
			return *dec
		}
		return nil
	case *Decline:
		if dec != nil {
			return *dec
		}
		return nil
	}
	return dec
}

// launchAll creates the tasks of every launch, concurrently, and reports for
// each launch whether any of its tasks was created, so that its offers are
// spoken for.
//
// A task the driver knows to exist is left out of its launch, and out of the
// size the launch announces: its create could only fail (AlreadyExists), and
// the master would wait for it, holding the offers, before binding the rest.
// A scheduler hands over such a task when its own bookkeeping lags the
// driver's (the SDK's Queue forgets a launch after a while).
func (d *Driver) launchAll(ctx context.Context, obj *v1alpha1.Framework, launches []Launch) []bool {
	type create struct {
		launch int
		task   *v1alpha1.Task
		err    error
	}
	logger := log.FromContext(ctx)
	var creates []create
	for i, l := range launches {
		tasks := make([]*v1alpha1.Task, 0, len(l.Tasks))
		for j := range l.Tasks {
			if d.exists(l.Tasks[j].Name) {
				logger.V(1).Info("Not launching a task that exists already", "task", l.Tasks[j].Name, "offers", l.Offers)
				continue
			}
			tasks = append(tasks, &l.Tasks[j])
		}
		for _, t := range tasks {
			creates = append(creates, create{launch: i, task: d.prepare(obj, t, l.Offers, len(tasks))})
		}
	}
	concurrently(len(creates), func(k int) { creates[k].err = d.c.Create(ctx, creates[k].task) })
	ok := make([]bool, len(launches))
	for _, c := range creates {
		t, offers := c.task, launches[c.launch].Offers
		switch {
		case c.err == nil:
			d.created[t.Name] = d.now()
			ok[c.launch] = true
			logger.V(1).Info("Launched task", "task", t.Name, "offers", offers)
		case apierrors.IsAlreadyExists(c.err):
			logger.V(1).Info("Task exists already", "task", t.Name)
		default:
			logger.Error(c.err, "Failed to launch task", "task", t.Name)
			if h, isHandler := d.sched.(LaunchErrorHandler); isHandler {
				h.LaunchFailed(ctx, d, t.DeepCopy(), c.err)
			}
		}
	}
	now := d.now()
	for i, l := range launches {
		if ok[i] {
			for _, o := range l.Offers {
				d.claims[o] = now
			}
		}
	}
	return ok
}

// ApplyConcurrency is how many calls a driver makes at once to carry out
// the decisions of one batch.
const ApplyConcurrency = 32

// concurrently calls fn(0) to fn(n-1), ApplyConcurrency at once, and
// returns when all returned.
func concurrently(n int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, ApplyConcurrency) {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// prepare returns the object to create for a task of a launch of size tasks.
// A launch of several tasks says its size (v1alpha1.LaunchTasksAnnotation), so
// that the master binds them together however slowly they arrive, instead of
// dropping those created after it accepted the offers for the first.
func (d *Driver) prepare(obj *v1alpha1.Framework, in *v1alpha1.Task, offers []string, size int) *v1alpha1.Task {
	t := in.DeepCopy()
	t.Namespace = d.fw.Namespace
	t.ResourceVersion = ""
	t.Spec.Framework = d.fw.Name
	t.Spec.Offers = slices.Clone(offers)
	t.Spec.NodeName = ""
	t.Status = v1alpha1.TaskStatus{}
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	t.Labels[LabelFramework] = d.fw.Name
	if size > 1 {
		if t.Annotations == nil {
			t.Annotations = map[string]string{}
		}
		t.Annotations[v1alpha1.LaunchTasksAnnotation] = strconv.Itoa(size)
	}
	if !hasOwner(t.OwnerReferences, obj.UID) {
		t.OwnerReferences = append(t.OwnerReferences, *ownerRef(obj))
	}
	return t
}

// declineAll sets spec.decline on each offer, concurrently.
func (d *Driver) declineAll(ctx context.Context, declines []Decline) {
	errs := make([]error, len(declines))
	concurrently(len(declines), func(i int) {
		dec := declines[i]
		o := &v1alpha1.Offer{}
		o.Namespace, o.Name = d.fw.Namespace, dec.Offer
		patch := fmt.Appendf(nil, `{"spec":{"decline":{"refuseSeconds":%d}}}`, refuse(dec.RefuseSeconds))
		errs[i] = d.c.Patch(ctx, o, client.RawPatch(types.MergePatchType, patch))
	})
	logger := log.FromContext(ctx)
	for i, dec := range declines {
		switch err := errs[i]; {
		case err == nil, apierrors.IsNotFound(err):
			d.claims[dec.Offer] = d.now()
			logger.V(1).Info("Declined offer", "offer", dec.Offer, "refuseSeconds", refuse(dec.RefuseSeconds))
		case apierrors.IsInvalid(err):
			// Declined already, or closed: nothing to do.
			d.claims[dec.Offer] = d.now()
		default:
			logger.Error(err, "Failed to decline offer", "offer", dec.Offer)
		}
	}
}
