package tasks

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Reconciler reconciles the Tasks bound to the agent's node with their
// containers. It reads tasks from a cache that holds only this node's tasks,
// asks the Supervisor to launch and kill containers, and writes each task's
// status (computed by NextStatus and written by WriteStatus, one patch per
// state) and finalizer.
type Reconciler struct {
	// Client reads tasks from the node's cache and writes them.
	Client client.Client
	// APIReader reads tasks from the API server, bypassing the cache, before a
	// container is removed as an orphan.
	APIReader client.Reader
	// Node is the agent's node.
	Node string
	// Supervisor runs the containers.
	Supervisor *Supervisor
	// Clock stamps terminal states; default the real clock.
	Clock clock.PassiveClock

	// superseded tells the cache's copies that the reconciler's own writes
	// replaced.
	superseded Superseded
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	task := &v1alpha1.Task{}
	if err := r.Client.Get(ctx, req.NamespacedName, task); err != nil {
		if apierrors.IsNotFound(err) {
			r.superseded.Forget(req.NamespacedName)
			return reconcile.Result{}, r.removeOrphans(ctx, req.NamespacedName, "")
		}
		return reconcile.Result{}, err
	}
	if task.Spec.NodeName != r.Node || r.superseded.Stale(task) {
		return reconcile.Result{}, nil // not ours, or the event of our own write brings it back
	}
	if err := r.removeOrphans(ctx, req.NamespacedName, task.UID); err != nil {
		return reconcile.Result{}, err
	}
	if task.IsTerminal() {
		return reconcile.Result{}, r.reconcileTerminal(ctx, task)
	}
	return reconcile.Result{}, r.reconcileActive(ctx, task)
}

// reconcileActive launches, watches and kills the container of a task that has
// not reached a terminal state, and reports its status.
func (r *Reconciler) reconcileActive(ctx context.Context, task *v1alpha1.Task) error {
	deleting := !task.DeletionTimestamp.IsZero()
	hasFinalizer := controllerutil.ContainsFinalizer(task, v1alpha1.TaskFinalizer)
	if deleting && !hasFinalizer {
		// Never launched by this agent (a task it launches carries the
		// finalizer first), or the finalizer was removed by force: kill
		// whatever runs.
		reason, message := KillReason(task)
		r.Supervisor.Kill(task.UID, reason, message)
		return nil
	}
	_, known := r.Supervisor.Observe(task.UID)
	if !known && !Bound(task) {
		return nil // the master has not admitted the operator's placement yet
	}
	if !deleting && !known && !ranBefore(task.Status) {
		if err := r.addFinalizer(ctx, task); err != nil {
			return err
		}
		r.Supervisor.Admit(task)
	}
	if deleting {
		reason, message := KillReason(task)
		r.Supervisor.Kill(task.UID, reason, message)
	}
	r.Supervisor.EnsureHealthChecks(task)
	observe := func() Observation {
		obs, _ := r.Supervisor.Observe(task.UID)
		obs.Deleting = deleting
		if deleting && obs.Phase == PhaseNone {
			obs.KillReason, obs.KillMessage = KillReason(task)
		}
		return obs
	}
	if current, err := WriteStatus(ctx, task, observe, r.now(), r.patchStatus); err != nil || !current {
		return err
	}
	if !task.Status.State.IsTerminal() {
		return nil
	}
	return r.finish(ctx, task)
}

// Bound reports whether a task on the node may run: the master bound it to
// the node of the offers it accepted, or admitted it after an operator placed
// it on the node directly (its Bound condition is True), or it started
// already. An operator's task the master has not judged yet waits: the master
// refuses it (Error, Overcommitted) if it does not fit beside the node's
// tasks and outstanding offers.
func Bound(t *v1alpha1.Task) bool {
	return t.Spec.NodeName != "" && (len(t.Spec.Offers) > 0 || t.Status.State != "" ||
		meta.IsStatusConditionTrue(t.Status.Conditions, v1alpha1.TaskBoundCondition))
}

// reconcileTerminal makes sure nothing runs for a task in a terminal state (the
// master may have declared it Lost while the agent was cut off), then cleans up
// its container and removes the finalizer.
func (r *Reconciler) reconcileTerminal(ctx context.Context, task *v1alpha1.Task) error {
	if obs, ok := r.Supervisor.Observe(task.UID); ok && (obs.Phase == PhaseRunning || obs.Phase == PhasePreparing) {
		log.FromContext(ctx).Info("Killing the container of a task in a terminal state", "state", task.Status.State)
		r.Supervisor.Kill(task.UID, "", "")
		return nil // the container's exit brings the task back here
	}
	return r.finish(ctx, task)
}

// finish removes the container of a task whose final status is written, and
// then the finalizer.
func (r *Reconciler) finish(ctx context.Context, task *v1alpha1.Task) error {
	if err := r.Supervisor.Cleanup(ctx, task.UID); err != nil {
		return err
	}
	if !controllerutil.ContainsFinalizer(task, v1alpha1.TaskFinalizer) {
		r.Supervisor.Released(task.UID)
		return nil
	}
	orig := task.DeepCopy()
	controllerutil.RemoveFinalizer(task, v1alpha1.TaskFinalizer)
	err := r.Client.Patch(ctx, task, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	if err == nil {
		r.superseded.Replaced(orig)
	}
	switch {
	case apierrors.IsNotFound(err):
		r.Supervisor.Released(task.UID)
	case apierrors.IsConflict(err):
		// A newer version is on its way and brings the task back.
	case err != nil:
		return fmt.Errorf("failed to remove the finalizer of task %s: %w", task.Name, err)
	default:
		r.Supervisor.Released(task.UID)
	}
	return nil
}

func (r *Reconciler) addFinalizer(ctx context.Context, task *v1alpha1.Task) error {
	if controllerutil.ContainsFinalizer(task, v1alpha1.TaskFinalizer) {
		return nil
	}
	orig := task.DeepCopy()
	controllerutil.AddFinalizer(task, v1alpha1.TaskFinalizer)
	// A task placed directly on the node is bound already: its managedFields
	// go (see v1alpha1.ResetManagedFields), as the master's binding does.
	task.ManagedFields = v1alpha1.ResetManagedFields()
	if err := r.Client.Patch(ctx, task, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("failed to add the finalizer to task %s: %w", task.Name, err)
	}
	r.superseded.Replaced(orig)
	return nil
}

// patchStatus writes next as the task's status, with optimistic locking: a
// status computed from a stale copy is never written. It reports whether it
// wrote; a conflict is not an error, as the newer version of the task brings
// it back to the reconciler.
func (r *Reconciler) patchStatus(ctx context.Context, task *v1alpha1.Task, next v1alpha1.TaskStatus) (bool, error) {
	orig := task.DeepCopy()
	task.Status = next
	err := r.Client.Status().Patch(ctx, task, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	switch {
	case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("failed to update the status of task %s: %w", task.Name, err)
	}
	r.superseded.Replaced(orig)
	log.FromContext(ctx).V(1).Info("Task status", "state", next.State, "reason", next.Reason)
	return true, nil
}

// removeOrphans removes the containers of tasks under key other than keep,
// once the API server confirms that they are gone.
func (r *Reconciler) removeOrphans(ctx context.Context, key types.NamespacedName, keep types.UID) error {
	orphans := r.Supervisor.Orphans(key, keep)
	if len(orphans) == 0 {
		return nil
	}
	current := &v1alpha1.Task{}
	err := r.APIReader.Get(ctx, key, current)
	switch {
	case apierrors.IsNotFound(err):
		current = nil
	case err != nil:
		return fmt.Errorf("failed to confirm that task %s is gone: %w", key, err)
	}
	for _, uid := range orphans {
		if current != nil && current.UID == uid && current.Spec.NodeName == r.Node {
			continue // the cache is behind
		}
		if r.Supervisor.Cleaned(uid) {
			r.Supervisor.Forget(uid)
			continue
		}
		log.FromContext(ctx).Info("Removing the container of a deleted task", "uid", uid)
		r.Supervisor.RemoveOrphan(uid)
	}
	return nil
}

func (r *Reconciler) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}
