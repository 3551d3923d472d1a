package binding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/ledger"
	"meseta.dev/meseta/pkg/resources"
)

// FieldOwner is the field manager of the binding's writes.
const FieldOwner = "meseta-binding"

// errLost says an offer cannot be accepted any more: another writer declined,
// deleted or closed it first.
type errLost struct{ msg string }

func (e *errLost) Error() string { return e.msg }

// bind applies one Bind: it claims the offers to accept, writes them
// Accepted, moves their resources to the tasks in the ledger and sets the
// tasks' spec.nodeName. See the package documentation for why a crash at any
// point is repaired by the next reconcile.
func (b *Binder) bind(ctx context.Context, ns string, bd Bind, tasks map[string]*v1alpha1.Task) (reconcile.Result, error) {
	logger := log.FromContext(ctx)
	keys := make([]types.NamespacedName, len(bd.Accept))
	for i, name := range bd.Accept {
		keys[i] = types.NamespacedName{Namespace: ns, Name: name}
	}
	claimed, err := b.ledger.Claim(keys...)
	switch {
	case errors.Is(err, ledger.ErrClaimed):
		return reconcile.Result{RequeueAfter: retryClaimed}, nil
	case err != nil:
		// Closed since the decision was made: decide again.
		return reconcile.Result{RequeueAfter: time.Millisecond}, nil
	}
	lts := make([]ledger.Task, 0, len(bd.Tasks))
	for _, name := range bd.Tasks {
		t := tasks[name]
		lts = append(lts, ledger.Task{
			Key: client.ObjectKeyFromObject(t), UID: t.UID,
			Framework: types.NamespacedName{Namespace: ns, Name: t.Spec.Framework},
			Node:      bd.Node, Resources: bd.Resources[name],
		})
	}
	now := metav1.NewTime(b.opts.Clock.Now())
	var accepted []types.NamespacedName
	var failure error
	for _, o := range claimed {
		if failure = b.acceptOffer(ctx, o, bd.OfferTasks[o.Key.Name], now); failure != nil {
			break
		}
		accepted = append(accepted, o.Key)
	}
	var lost *errLost
	switch {
	case failure == nil:
	case errors.As(failure, &lost):
		// The offers accepted so far stay Accepted, but no task is bound on them:
		// their resources return to the pool, and the tasks are dropped.
		for _, k := range accepted {
			b.ledger.RemoveOffer(k)
		}
		b.settleLost(ctx, keys[len(accepted)])
		b.ledger.Unclaim(keys...)
		b.opts.Trigger()
		return reconcile.Result{}, concurrently(len(bd.Tasks), func(i int) error {
			return b.drop(ctx, tasks[bd.Tasks[i]], Drop{Task: bd.Tasks[i], State: v1alpha1.TaskDropped,
				Reason: v1alpha1.ReasonInvalidOffers, Message: lost.msg})
		})
	default:
		// A transient error: the offers accepted so far hold the tasks (the next
		// reconcile sees them accepted for the tasks and goes on).
		if len(accepted) > 0 {
			if err := b.ledger.Accept(accepted, lts); err != nil {
				logger.Error(err, "Ledger invariant broken by an accept")
			}
		}
		b.ledger.Unclaim(keys...)
		return reconcile.Result{}, failure
	}
	if err := b.ledger.Accept(accepted, lts); err != nil {
		logger.Error(err, "Ledger invariant broken by an accept")
	}
	if len(accepted) > 0 {
		b.opts.Trigger()
		metricsAccepted.Add(float64(len(accepted)))
	}
	return reconcile.Result{}, concurrently(len(lts), func(i int) error {
		return b.setNode(ctx, tasks[lts[i].Key.Name], bd.Node)
	})
}

// settleLost updates the ledger for the offer that could not be accepted:
// gone or closed by someone else, it no longer holds anything; declined, it
// waits for the offer controller to close it.
func (b *Binder) settleLost(ctx context.Context, key types.NamespacedName) {
	var o v1alpha1.Offer
	err := b.api.Get(ctx, key, &o)
	if apierrors.IsNotFound(err) || (err == nil && o.Status.Phase.IsFinal()) {
		b.ledger.RemoveOffer(key)
	}
}

// offerAcceptPatch is a merge patch that accepts an offer, with a
// resourceVersion precondition.
type offerAcceptPatch struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion"`
	} `json:"metadata"`
	Status struct {
		Phase      v1alpha1.OfferPhase  `json:"phase"`
		Reason     v1alpha1.OfferReason `json:"reason"`
		Message    string               `json:"message"`
		Tasks      []string             `json:"tasks"`
		AcceptedAt metav1.Time          `json:"acceptedAt"`
		ClosedAt   metav1.Time          `json:"closedAt"`
	} `json:"status"`
}

// acceptOffer writes an offer Accepted for tasks, under a resourceVersion
// precondition: exactly one of racing writers wins. On a conflict it reads the
// offer: still outstanding (only its metadata changed), it tries again; if its
// own earlier write landed (the answer was lost), that is success; declined,
// deleted or closed, the accept is lost (*errLost).
func (b *Binder) acceptOffer(ctx context.Context, o ledger.Offer, tasks []string, now metav1.Time) error {
	rv := o.ResourceVersion
	for attempt := 0; attempt < 5; attempt++ {
		if rv == "" {
			fresh, err := b.fresh(ctx, o.Key, tasks)
			if errors.Is(err, errAcceptedAlready) {
				return nil
			}
			if err != nil {
				return err
			}
			rv = fresh
		}
		var p offerAcceptPatch
		p.Metadata.ResourceVersion = rv
		p.Status.Phase, p.Status.Reason = v1alpha1.OfferAccepted, v1alpha1.OfferReasonTasksLaunched
		p.Status.Message = "launched " + describeTasks(tasks)
		p.Status.Tasks = tasks
		p.Status.AcceptedAt, p.Status.ClosedAt = now, now
		body, _ := json.Marshal(p)
		obj := &v1alpha1.Offer{}
		obj.Name, obj.Namespace = o.Key.Name, o.Key.Namespace
		err := b.api.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, body), client.FieldOwner(FieldOwner))
		switch {
		case err == nil:
			return nil
		case apierrors.IsNotFound(err):
			return &errLost{msg: fmt.Sprintf("offer %s was deleted (declined) while it was being accepted", o.Key.Name)}
		case apierrors.IsConflict(err):
			rv = ""
			continue
		default:
			return fmt.Errorf("failed to accept offer %s: %w", o.Key, err)
		}
	}
	return fmt.Errorf("failed to accept offer %s: too many conflicts", o.Key)
}

// errAcceptedAlready says the offer's own earlier accept landed.
var errAcceptedAlready = errors.New("accepted already")

// fresh reads an offer again and returns its resourceVersion if it can still
// be accepted for tasks, errAcceptedAlready if it was accepted for them, and
// an *errLost if it cannot be accepted.
func (b *Binder) fresh(ctx context.Context, key types.NamespacedName, tasks []string) (string, error) {
	var o v1alpha1.Offer
	err := b.api.Get(ctx, key, &o)
	switch {
	case apierrors.IsNotFound(err):
		return "", &errLost{msg: fmt.Sprintf("offer %s was deleted (declined) while it was being accepted", key.Name)}
	case err != nil:
		return "", fmt.Errorf("failed to get offer %s: %w", key, err)
	case o.Status.Phase == v1alpha1.OfferAccepted && slices.Equal(o.Status.Tasks, tasks):
		return "", errAcceptedAlready
	case o.Status.Phase.IsFinal():
		return "", &errLost{msg: fmt.Sprintf("offer %s was %s while it was being accepted", key.Name, strings.ToLower(string(o.Status.Phase)))}
	case o.Spec.Decline != nil:
		return "", &errLost{msg: fmt.Sprintf("offer %s was declined while it was being accepted", key.Name)}
	}
	return o.ResourceVersion, nil
}

// setNode binds a task: it sets spec.nodeName under a resourceVersion
// precondition, so that a task another writer ended meanwhile is not bound.
// The same write adds the agent's finalizer (v1alpha1.TaskFinalizer), which
// the agent would otherwise add in a write of its own before it launches: a
// bound task is then never deleted without its agent (or, for a node that is
// gone, the node lifecycle) writing its final status, and a task that is
// never bound never carries it. On a conflict it reads the task again: still
// waiting, it tries again; ended, being deleted or gone, it releases what the
// task held in the ledger (its offers stay Accepted, unused).
//
// The same write also clears the task's managedFields (v1alpha1.ResetManagedFields):
// a bound task's spec no longer changes, and the API server then skips field
// tracking on the status writes that follow, which makes each of them and
// every copy of the task in its caches smaller.
func (b *Binder) setNode(ctx context.Context, t *v1alpha1.Task, node string) error {
	key := client.ObjectKeyFromObject(t)
	rv, finalizers := t.ResourceVersion, t.Finalizers
	for attempt := 0; attempt < 5; attempt++ {
		body, _ := json.Marshal(map[string]any{
			"metadata": map[string]any{"uid": t.UID, "resourceVersion": rv, "finalizers": withTaskFinalizer(finalizers),
				"managedFields": v1alpha1.ResetManagedFields()},
			"spec": map[string]any{"nodeName": node},
		})
		obj := &v1alpha1.Task{}
		obj.Name, obj.Namespace = t.Name, t.Namespace
		err := b.api.Patch(ctx, obj, client.RawPatch(types.MergePatchType, body), client.FieldOwner(FieldOwner))
		switch {
		case err == nil:
			b.x.markDecided(t.UID, b.opts.Clock.Now())
			metricsBound.Inc()
			return nil
		case apierrors.IsNotFound(err):
			b.ledger.RemoveTask(key, t.UID, false)
			return nil
		case !apierrors.IsConflict(err):
			return fmt.Errorf("failed to bind task %s to node %s: %w", key, node, err)
		}
		var fresh v1alpha1.Task
		err = b.api.Get(ctx, key, &fresh)
		switch {
		case apierrors.IsNotFound(err) || (err == nil && fresh.UID != t.UID):
			b.ledger.RemoveTask(key, t.UID, false)
			return nil
		case err != nil:
			return fmt.Errorf("failed to get task %s: %w", key, err)
		case fresh.Spec.NodeName == node:
			b.x.markDecided(t.UID, b.opts.Clock.Now())
			return nil // bound already (an earlier answer was lost)
		case fresh.IsTerminal() || fresh.Spec.NodeName != "" || fresh.DeletionTimestamp != nil:
			log.FromContext(ctx).Info("Task ended, was deleted or was placed elsewhere while it was being bound",
				"task", key, "state", fresh.Status.State, "node", fresh.Spec.NodeName)
			b.ledger.RemoveTask(key, t.UID, fresh.IsTerminal())
			return nil
		}
		rv, finalizers = fresh.ResourceVersion, fresh.Finalizers
	}
	return fmt.Errorf("failed to bind task %s to node %s: too many conflicts", key, node)
}

// withTaskFinalizer returns a task's finalizers with v1alpha1.TaskFinalizer,
// added at the end when it is missing; finalizers is not changed.
func withTaskFinalizer(finalizers []string) []string {
	if slices.Contains(finalizers, v1alpha1.TaskFinalizer) {
		return finalizers
	}
	return append(slices.Clone(finalizers), v1alpha1.TaskFinalizer)
}

// taskStatusPatch ends a task before it was launched, under a
// resourceVersion precondition.
type taskStatusPatch struct {
	Metadata struct {
		UID             types.UID `json:"uid"`
		ResourceVersion string    `json:"resourceVersion"`
	} `json:"metadata"`
	Status struct {
		State      v1alpha1.TaskState  `json:"state"`
		Reason     v1alpha1.TaskReason `json:"reason"`
		Message    string              `json:"message"`
		FinishedAt metav1.Time         `json:"finishedAt"`
		Conditions []metav1.Condition  `json:"conditions"`
	} `json:"status"`
}

// drop ends a task that will not be launched: Dropped (or Error), with a
// False Bound condition that says why. The write has a resourceVersion
// precondition: a task that another writer bound or ended meanwhile is left
// alone, and one that only changed otherwise is dropped all the same.
func (b *Binder) drop(ctx context.Context, t *v1alpha1.Task, d Drop) error {
	if t == nil {
		return nil
	}
	key := client.ObjectKeyFromObject(t)
	rv := t.ResourceVersion
	for attempt := 0; attempt < 5; attempt++ {
		now := metav1.NewTime(b.opts.Clock.Now())
		var p taskStatusPatch
		p.Metadata.UID, p.Metadata.ResourceVersion = t.UID, rv
		p.Status.State, p.Status.Reason, p.Status.Message, p.Status.FinishedAt = d.State, d.Reason, d.Message, now
		p.Status.Conditions = []metav1.Condition{{
			Type: v1alpha1.TaskBoundCondition, Status: metav1.ConditionFalse, Reason: string(d.Reason),
			Message: d.Message, LastTransitionTime: now, ObservedGeneration: t.Generation,
		}}
		body, _ := json.Marshal(p)
		obj := &v1alpha1.Task{}
		obj.Name, obj.Namespace = t.Name, t.Namespace
		err := b.api.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, body), client.FieldOwner(FieldOwner))
		switch {
		case err == nil:
			b.x.markDecided(t.UID, now.Time)
			metricsDropped.WithLabelValues(string(d.Reason)).Inc()
			log.FromContext(ctx).V(1).Info("Dropped a task", "task", key, "state", d.State, "message", d.Message)
			return nil
		case apierrors.IsNotFound(err):
			return nil
		case !apierrors.IsConflict(err):
			return fmt.Errorf("failed to drop task %s: %w", key, err)
		}
		var fresh v1alpha1.Task
		err = b.api.Get(ctx, key, &fresh)
		switch {
		case apierrors.IsNotFound(err) || (err == nil && fresh.UID != t.UID):
			return nil
		case err != nil:
			return fmt.Errorf("failed to get task %s: %w", key, err)
		case fresh.IsTerminal() || (len(fresh.Spec.Offers) > 0 && !pending(&fresh)) ||
			(len(fresh.Spec.Offers) == 0 && !awaitingAdmission(&fresh)):
			return nil // someone else decided
		}
		rv = fresh.ResourceVersion
	}
	return fmt.Errorf("failed to drop task %s: too many conflicts", key)
}

// fillView fills an OfferView from an Offer object.
func fillView(v *OfferView, o *v1alpha1.Offer) {
	v.Found = true
	v.Framework, v.Node = o.Spec.Framework, o.Spec.NodeName
	v.Resources, _ = resources.FromAPI(o.Spec.Resources)
	v.Phase, v.Reason, v.Message = o.Status.Phase, o.Status.Reason, o.Status.Message
	if v.Phase == "" {
		v.Phase = v1alpha1.OfferOutstanding
	}
	v.Declined = o.Spec.Decline != nil
	v.Tasks = o.Status.Tasks
}

// ledgerOfferOf returns the ledger entry of an outstanding Offer.
func ledgerOfferOf(o *v1alpha1.Offer) (ledger.Offer, error) {
	res, err := resources.FromAPI(o.Spec.Resources)
	if err != nil {
		return ledger.Offer{}, err
	}
	lo := ledger.Offer{
		Key: client.ObjectKeyFromObject(o), UID: o.UID, ResourceVersion: o.ResourceVersion,
		Framework: types.NamespacedName{Namespace: o.Namespace, Name: o.Spec.Framework},
		Node:      o.Spec.NodeName, Resources: res,
	}
	if o.Spec.ExpiresAt != nil {
		lo.ExpiresAt = o.Spec.ExpiresAt.Time
	}
	return lo, nil
}

// writeConcurrency is how many writes of one decision are made at once.
const writeConcurrency = 16

// concurrently calls fn(0) to fn(n-1), writeConcurrency at once, and returns
// their errors joined.
func concurrently(n int, fn func(i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, writeConcurrency) {
		wg.Go(func() {
			for i := range next {
				errs[i] = fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}
