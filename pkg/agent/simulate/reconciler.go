package simulate

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/tasks"
)

// reconciler reports the status of the tasks bound to the fleet's nodes as
// the real agent's tasks.Reconciler does, with simulated containers: the
// finalizer before anything starts (added only when the binding did not add
// it already), the status computed by tasks.NextStatus and written by
// tasks.WriteStatus (one patch per state, with optimistic locking), and the
// finalizer removed once the final status is written.
type reconciler struct {
	// client writes the tasks; tasks reads them (the nodes' watches).
	client     client.Client
	tasks      taskReader
	nodes      map[string]bool
	containers *store
	startDelay time.Duration
	clock      clock.PassiveClock
	// superseded tells the cache's copies that the fleet's own writes
	// replaced, as on a real agent.
	superseded tasks.Superseded
}

// taskReader reads a task by its key (client.Reader's Get).
type taskReader interface {
	Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error
}

// Reconcile implements reconcile.Reconciler.
func (r *reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	task := &v1alpha1.Task{}
	if err := r.tasks.Get(ctx, req.NamespacedName, task); err != nil {
		if apierrors.IsNotFound(err) {
			r.containers.forget(req.NamespacedName)
			r.superseded.Forget(req.NamespacedName)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if !r.nodes[task.Spec.NodeName] || r.superseded.Stale(task) {
		return reconcile.Result{}, nil // not the fleet's, or the event of its own write brings it back
	}
	ctx = asNode(ctx, task.Spec.NodeName)
	if task.IsTerminal() {
		r.containers.forget(req.NamespacedName)
		return reconcile.Result{}, r.finish(ctx, task)
	}
	return r.reconcileActive(ctx, task)
}

// reconcileActive starts, runs and kills the simulated container of a task
// that has not reached a terminal state, and reports its status.
func (r *reconciler) reconcileActive(ctx context.Context, task *v1alpha1.Task) (reconcile.Result, error) {
	now := r.clock.Now()
	key := client.ObjectKeyFromObject(task)
	deleting := !task.DeletionTimestamp.IsZero()
	if deleting && !controllerutil.ContainsFinalizer(task, v1alpha1.TaskFinalizer) {
		r.containers.forget(key) // never started here, or the finalizer was removed by force
		return reconcile.Result{}, nil
	}
	c := r.containers.get(key, task.UID)
	if c == nil && !tasks.Bound(task) {
		return reconcile.Result{}, nil // the master has not admitted the placement yet
	}
	if c == nil {
		var err error
		if c, err = r.admit(ctx, task, deleting, now); err != nil {
			return reconcile.Result{}, err
		}
	}
	if c != nil && deleting {
		reason, _ := tasks.KillReason(task)
		c.kill(now, reason)
	}
	observe := func() tasks.Observation {
		obs := tasks.Observation{Deleting: deleting}
		if c != nil {
			obs = c.observe(now)
			obs.Deleting = deleting
		}
		return obs
	}
	if current, err := tasks.WriteStatus(ctx, task, observe, now, r.patchStatus); err != nil || !current {
		return reconcile.Result{}, err
	}
	if task.Status.State.IsTerminal() {
		return reconcile.Result{}, r.finish(ctx, task)
	}
	if c != nil {
		return reconcile.Result{RequeueAfter: c.wakeAfter(now)}, nil
	}
	return reconcile.Result{}, nil
}

// admit gives a task without a container one: it adopts the container of a
// task whose status says it started (under a previous simulator), and
// otherwise adds the finalizer and starts a new one, unless the task is being
// deleted.
func (r *reconciler) admit(ctx context.Context, task *v1alpha1.Task, deleting bool, now time.Time) (*container, error) {
	var c *container
	switch {
	case started(task.Status):
		c = adoptContainer(task, now)
	case deleting:
		return nil, nil
	default:
		if err := r.addFinalizer(ctx, task); err != nil {
			return nil, err
		}
		c = newContainer(task, now, r.startDelay)
	}
	r.containers.put(client.ObjectKeyFromObject(task), task.UID, c)
	return c, nil
}

// started reports whether a task's status says its container started.
func started(s v1alpha1.TaskStatus) bool {
	return s.ContainerID != "" || s.State == v1alpha1.TaskRunning || s.State == v1alpha1.TaskKilling
}

// finish removes the finalizer of a task whose final status is written.
func (r *reconciler) finish(ctx context.Context, task *v1alpha1.Task) error {
	if !controllerutil.ContainsFinalizer(task, v1alpha1.TaskFinalizer) {
		return nil
	}
	orig := task.DeepCopy()
	controllerutil.RemoveFinalizer(task, v1alpha1.TaskFinalizer)
	err := r.client.Patch(ctx, task, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	if err == nil {
		r.superseded.Replaced(orig)
	}
	switch {
	case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		return nil // gone, or a newer version brings the task back
	case err != nil:
		return fmt.Errorf("failed to remove the finalizer of task %s: %w", task.Name, err)
	}
	return nil
}

func (r *reconciler) addFinalizer(ctx context.Context, task *v1alpha1.Task) error {
	if controllerutil.ContainsFinalizer(task, v1alpha1.TaskFinalizer) {
		return nil
	}
	orig := task.DeepCopy()
	controllerutil.AddFinalizer(task, v1alpha1.TaskFinalizer)
	// A task placed directly on the node is bound already: its managedFields
	// go (see v1alpha1.ResetManagedFields), as the master's binding does.
	task.ManagedFields = v1alpha1.ResetManagedFields()
	if err := r.client.Patch(ctx, task, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("failed to add the finalizer to task %s: %w", task.Name, err)
	}
	r.superseded.Replaced(orig)
	return nil
}

// patchStatus writes next as the task's status with optimistic locking and
// reports whether it wrote; a conflict is not an error (the newer version
// brings the task back).
func (r *reconciler) patchStatus(ctx context.Context, task *v1alpha1.Task, next v1alpha1.TaskStatus) (bool, error) {
	orig := task.DeepCopy()
	task.Status = next
	err := r.client.Status().Patch(ctx, task, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
	switch {
	case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("failed to update the status of task %s: %w", task.Name, err)
	}
	r.superseded.Replaced(orig)
	return true, nil
}
