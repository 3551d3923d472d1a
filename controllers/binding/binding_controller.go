package binding

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/ledger"
)

// pendingOffersIndex indexes the Tasks waiting to be bound by the offers they
// name.
const pendingOffersIndex = "meseta.dev/binding.pending-offers"

// pendingIndex indexes the Tasks waiting to be bound under pendingValue, so
// the sweep reads them without walking every task of the cluster.
const (
	pendingIndex = "meseta.dev/binding.pending"
	pendingValue = "true"
)

// maxGroup is the most tasks one reconcile binds together.
const maxGroup = 4 * MaxTasksPerOffer

// retryClaimed is how soon a reconcile that met an offer claimed by another
// operation tries again.
const retryClaimed = 20 * time.Millisecond

// Options configure the binding controllers.
type Options struct {
	// Ledger is the offer controller's ledger, shared with the binding.
	Ledger *ledger.Ledger
	// Client writes to and reads from the API server directly.
	Client client.Client
	// Trigger asks the offer controller for an allocation cycle (to offer what
	// an accept left).
	Trigger func()
	// Clock is the time source (default the real clock).
	Clock clock.PassiveClock
	// Workers is how many groups of tasks are bound at once (default 16).
	Workers int
	// BatchWindow is how long the tasks that share offers wait, after the
	// newest of them appeared, before they are bound, so that the tasks a
	// framework creates together on one offer are bound together (default
	// 25ms). Tasks whose v1alpha1.LaunchTasksAnnotation says how many they are
	// do not wait once all have appeared. A task that names an offer already
	// accepted for others is dropped.
	BatchWindow time.Duration
	// MaxBatchWait bounds the wait for the rest of a launch that said its
	// size (default 1m): the group is decided once no task of it appeared
	// for this long, so a launch whose creates a loaded master queues (a
	// framework's requests may wait seconds in its priority level) or a
	// loaded watch delivers slowly is not cut short and its late tasks
	// dropped. Only a launch that never completes (a create that failed)
	// waits this long. At 10s, a launch of 80 tasks onto one offer of a
	// master loaded with 5,000 nodes lost its last few tasks (1,854 of the
	// 50,000 tasks of the api bench); at 30s, 224 launches of 32 lost their
	// last task, created more than 30s after the others (a framework's
	// creates wait in the master's fair queues, some much longer than
	// others).
	MaxBatchWait time.Duration
	// SweepInterval is how often every task still waiting to be bound is
	// decided again, whatever events were seen (default 5s).
	SweepInterval time.Duration
}

func (o Options) complete() Options {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.BatchWindow <= 0 {
		o.BatchWindow = 25 * time.Millisecond
	}
	if o.MaxBatchWait <= 0 {
		o.MaxBatchWait = time.Minute
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = 5 * time.Second
	}
	if o.Trigger == nil {
		o.Trigger = func() {}
	}
	return o
}

// Add registers the binding controller (tasks launched on offers) and the
// admission controller (tasks an operator placed on a node) with the manager.
func Add(mgr ctrl.Manager, o Options) error {
	if o.Ledger == nil || o.Client == nil {
		return errors.New("binding needs a ledger and a client")
	}
	o = o.complete()
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Task{}, pendingOffersIndex, func(obj client.Object) []string {
		if t := obj.(*v1alpha1.Task); pending(t) {
			return t.Spec.Offers
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("failed to index tasks by offers: %w", err)
	}
	err = mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Task{}, pendingIndex, func(obj client.Object) []string {
		if pending(obj.(*v1alpha1.Task)) {
			return []string{pendingValue}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("failed to index the tasks waiting to be bound: %w", err)
	}
	b := &Binder{opts: o, cache: mgr.GetClient(), api: o.Client, ledger: o.Ledger, x: &exclusive{}}
	sw := &sweeper{b: b, events: make(chan event.TypedGenericEvent[*v1alpha1.Task])}
	if err := mgr.Add(sw); err != nil {
		return err
	}
	err = ctrl.NewControllerManagedBy(mgr).
		Named("binding").
		WatchesRawSource(source.Kind(mgr.GetCache(), &v1alpha1.Task{}, b.taskHandler())).
		WatchesRawSource(source.Channel(sw.events, b.taskHandler())).
		WithOptions(controller.Options{MaxConcurrentReconciles: o.Workers, SkipNameValidation: &skipNameValidation}).
		Complete(b)
	if err != nil {
		return err
	}
	return addAdmission(mgr, o)
}

// skipNameValidation lets a process run several masters (tests do), each
// with its own binding controllers.
var skipNameValidation = true

// pending reports whether a task waits to be bound on offers.
func pending(t *v1alpha1.Task) bool {
	return len(t.Spec.Offers) > 0 && t.Spec.NodeName == "" && !t.IsTerminal() && t.DeletionTimestamp == nil
}

// groupKey is the request that binds a task: the first of its offers, so that
// the tasks sharing an offer are bound by one reconcile.
func groupKey(t *v1alpha1.Task) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: t.Namespace, Name: slices.Min(t.Spec.Offers)}}
}

// taskHandler enqueues the group of every task waiting to be bound, and
// notes when each was first seen.
func (b *Binder) taskHandler() handler.TypedEventHandler[*v1alpha1.Task, reconcile.Request] {
	return handler.TypedFuncs[*v1alpha1.Task, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[*v1alpha1.Task], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if pending(e.Object) {
				b.firstSeen(e.Object)
				q.AddAfter(groupKey(e.Object), b.opts.BatchWindow)
			}
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[*v1alpha1.Task], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if pending(e.ObjectNew) {
				b.firstSeen(e.ObjectNew)
				q.Add(groupKey(e.ObjectNew))
			} else {
				b.seen.Delete(e.ObjectNew.UID)
			}
		},
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[*v1alpha1.Task], _ workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			b.seen.Delete(e.Object.UID)
		},
		GenericFunc: func(_ context.Context, e event.TypedGenericEvent[*v1alpha1.Task], q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if pending(e.Object) {
				q.Add(groupKey(e.Object))
			}
		},
	}
}

// firstSeen returns when the binder first saw a task.
func (b *Binder) firstSeen(t *v1alpha1.Task) time.Time {
	v, _ := b.seen.LoadOrStore(t.UID, b.opts.Clock.Now())
	return v.(time.Time)
}

// batchWait returns how much longer a group of tasks should wait for more
// tasks of the same launch, zero when it should be decided now: when every
// launch that says its size (v1alpha1.LaunchTasksAnnotation) is complete and
// no task appeared within BatchWindow, or no task appeared for MaxBatchWait.
func (b *Binder) batchWait(tasks []*v1alpha1.Task) time.Duration {
	now := b.opts.Clock.Now()
	var newest time.Time
	sizes := map[string]int{}  // launch (offers) -> announced size
	counts := map[string]int{} // launch (offers) -> tasks seen
	for _, t := range tasks {
		seen := b.firstSeen(t)
		if seen.After(newest) {
			newest = seen
		}
		launch := strings.Join(sortedCopy(t.Spec.Offers), ",")
		counts[launch]++
		if n, err := strconv.Atoi(t.Annotations[v1alpha1.LaunchTasksAnnotation]); err == nil && n > sizes[launch] {
			sizes[launch] = n
		}
	}
	if now.Sub(newest) >= b.opts.MaxBatchWait {
		return 0
	}
	announced, complete := len(sizes) > 0, true
	for launch, n := range sizes {
		complete = complete && counts[launch] >= n
	}
	switch {
	case announced && !complete:
		return b.opts.BatchWindow
	case announced && len(sizes) == len(counts):
		return 0 // every launch said its size, and all are here
	}
	if quiet := now.Sub(newest); quiet < b.opts.BatchWindow {
		return b.opts.BatchWindow - quiet
	}
	return 0
}

// offersClosed reports whether an offer that tasks name is closed already:
// not outstanding in the ledger, and in the cache gone or in a final phase
// (accepted for other tasks of the launch, declined, rescinded, expired). No
// task that comes later could use it, so the tasks are decided at once
// instead of waiting for the rest of their launch: at 5,000 nodes the late
// tasks of launches whose offer was accepted for the others kept waiting for
// yet later ones, for minutes, until the closed offer was deleted and they
// were dropped. An offer outstanding in the API that the ledger has not
// adopted yet (an earlier leader's) is not closed.
func (b *Binder) offersClosed(ctx context.Context, ns string, tasks []*v1alpha1.Task) bool {
	for _, t := range tasks {
		for _, name := range t.Spec.Offers {
			key := types.NamespacedName{Namespace: ns, Name: name}
			if _, _, outstanding := b.ledger.Offer(key); outstanding {
				continue
			}
			var o v1alpha1.Offer
			err := b.cache.Get(ctx, key, &o, client.UnsafeDisableDeepCopy)
			if apierrors.IsNotFound(err) || (err == nil && o.Status.Phase.IsFinal()) {
				return true
			}
		}
	}
	return false
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// Binder binds tasks launched on offers. See the package documentation.
type Binder struct {
	seen   sync.Map // task UID -> time.Time the binder first saw it
	x      *exclusive
	opts   Options
	cache  client.Client
	api    client.Client
	ledger *ledger.Ledger
}

// Reconcile binds or drops the tasks waiting on the offer named by req, and
// those that share offers with them.
func (b *Binder) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	select {
	case <-b.ledger.Ready():
	case <-ctx.Done():
		return reconcile.Result{}, ctx.Err()
	}
	tasks, err := b.group(ctx, req)
	if err != nil {
		return reconcile.Result{}, err
	}
	if tasks = b.x.undecided(tasks); len(tasks) == 0 {
		return reconcile.Result{}, nil
	}
	if wait := b.batchWait(tasks); wait > 0 && !b.offersClosed(ctx, req.Namespace, tasks) {
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	if !b.x.tryHold(tasks) {
		return reconcile.Result{RequeueAfter: retryClaimed}, nil
	}
	defer b.x.release(tasks)
	views, retry, err := b.offerViews(ctx, req.Namespace, tasks)
	if err != nil {
		return reconcile.Result{}, err
	}
	if retry {
		return reconcile.Result{RequeueAfter: retryClaimed}, nil
	}
	tvs := make([]TaskView, 0, len(tasks))
	for _, t := range tasks {
		tvs = append(tvs, TaskView{Name: t.Name, Namespace: t.Namespace, Framework: t.Spec.Framework,
			Offers: t.Spec.Offers, Resources: t.Spec.Resources, Created: t.CreationTimestamp.Time})
	}
	out := Decide(tvs, views)
	byName := make(map[string]*v1alpha1.Task, len(tasks))
	for _, t := range tasks {
		byName[t.Name] = t
	}
	var errs []error
	errs = append(errs, concurrently(len(out.Drops), func(i int) error {
		return b.drop(ctx, byName[out.Drops[i].Task], out.Drops[i])
	}))
	for _, bind := range out.Binds {
		res, err := b.bind(ctx, req.Namespace, bind, byName)
		if err != nil {
			errs = append(errs, err)
		}
		if res.RequeueAfter > 0 && len(errs) == 0 {
			return res, nil
		}
	}
	return reconcile.Result{}, errors.Join(errs...)
}

// group returns the tasks waiting to be bound that name the request's offer,
// and, transitively, the tasks that share an offer with them, sorted by name.
func (b *Binder) group(ctx context.Context, req reconcile.Request) ([]*v1alpha1.Task, error) {
	seen := map[string]*v1alpha1.Task{}
	queue := []string{req.Name}
	done := map[string]bool{}
	for len(queue) > 0 && len(seen) < maxGroup {
		offer := queue[0]
		queue = queue[1:]
		if done[offer] {
			continue
		}
		done[offer] = true
		var list v1alpha1.TaskList
		err := b.cache.List(ctx, &list, client.InNamespace(req.Namespace), client.MatchingFields{pendingOffersIndex: offer})
		if err != nil {
			return nil, fmt.Errorf("failed to list the tasks on offer %s: %w", offer, err)
		}
		for i := range list.Items {
			t := &list.Items[i]
			if _, ok := seen[t.Name]; ok || !pending(t) {
				continue
			}
			seen[t.Name] = t
			queue = append(queue, t.Spec.Offers...)
		}
	}
	out := make([]*v1alpha1.Task, 0, len(seen))
	for _, t := range seen {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *v1alpha1.Task) int { return compareStrings(a.Name, b.Name) })
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// offerViews returns what is known of every offer the tasks name: from the
// ledger for outstanding offers (the truth of what this master holds), from
// the API server for the others. retry is true when an offer is claimed by
// another operation, whose outcome decides.
func (b *Binder) offerViews(ctx context.Context, ns string, tasks []*v1alpha1.Task) (map[string]OfferView, bool, error) {
	views := map[string]OfferView{}
	for _, t := range tasks {
		for _, name := range t.Spec.Offers {
			if _, ok := views[name]; ok {
				continue
			}
			key := types.NamespacedName{Namespace: ns, Name: name}
			v, retry, err := b.offerView(ctx, key)
			if err != nil || retry {
				return nil, retry, err
			}
			views[name] = v
		}
	}
	return views, false, nil
}

func (b *Binder) offerView(ctx context.Context, key types.NamespacedName) (OfferView, bool, error) {
	v := OfferView{Name: key.Name, Namespace: key.Namespace}
	if lo, claimed, ok := b.ledger.Offer(key); ok {
		if claimed || lo.UID == "" {
			// Claimed by another operation, or still being created (a framework may
			// see the new offer before its creator does): wait for the outcome.
			return v, true, nil
		}
		v.Found, v.Framework, v.Node, v.Resources, v.Phase = true, lo.Framework.Name, lo.Node, lo.Resources, v1alpha1.OfferOutstanding
		var o v1alpha1.Offer
		if err := b.cache.Get(ctx, key, &o, client.UnsafeDisableDeepCopy); err == nil && o.UID == lo.UID {
			v.Declined = o.Spec.Decline != nil
		}
		return v, false, nil
	}
	var o v1alpha1.Offer
	err := b.api.Get(ctx, key, &o)
	switch {
	case apierrors.IsNotFound(err):
		return v, false, nil
	case err != nil:
		return v, false, fmt.Errorf("failed to get offer %s: %w", key, err)
	}
	fillView(&v, &o)
	if !o.Status.Phase.IsFinal() && o.Spec.Decline == nil {
		// Outstanding in the API but not in the ledger: made by an earlier leader
		// after this one rebuilt its ledger, or by a create that seemed to fail.
		lo, err := ledgerOfferOf(&o)
		if err == nil {
			if err = b.ledger.AddOffer(lo); err == nil {
				return v, false, nil
			}
		}
		v.Phase, v.Reason = v1alpha1.OfferRescinded, v1alpha1.OfferReasonReallocated
		v.Message = "the node cannot hold this offer: " + err.Error()
	}
	return v, false, nil
}
