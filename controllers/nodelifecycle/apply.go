package nodelifecycle

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
)

// FieldOwner is the field manager of what the node lifecycle writes.
const FieldOwner = "meseta-node-lifecycle"

// applyTasks applies the actions on tasks, each from a fresh read of the
// task. It reports whether some task had changed meanwhile (its event brings
// the node back); other errors are joined.
func (r *Reconciler) applyTasks(ctx context.Context, actions []TaskAction) (bool, error) {
	conflicted := false
	var errs []error
	for _, a := range actions {
		err := r.applyTask(ctx, a)
		switch {
		case apierrors.IsConflict(err):
			conflicted = true
		case apierrors.IsNotFound(err):
		case err != nil:
			errs = append(errs, err)
		}
	}
	return conflicted, errors.Join(errs...)
}

// applyTask writes one task's state and Evicted condition, deletes it or
// releases its finalizer, in that order, with optimistic locking on the
// version read.
func (r *Reconciler) applyTask(ctx context.Context, a TaskAction) error {
	logger := log.FromContext(ctx).WithValues("task", a.Task)
	task := &v1alpha1.Task{}
	if err := r.Client.Get(ctx, a.Task, task); err != nil {
		return err
	}
	if task.UID != a.UID {
		return apierrors.NewConflict(v1alpha1.GroupVersion.WithResource("tasks").GroupResource(), a.Task.Name, errors.New("the task was replaced"))
	}
	if err := r.patchTaskStatus(ctx, task, a); err != nil {
		return err
	}
	if a.Delete {
		if err := r.Client.Delete(ctx, task, client.Preconditions{UID: &a.UID}); err != nil {
			return fmt.Errorf("failed to delete task %s to drain its node: %w", a.Task, err)
		}
		logger.Info("Task deleted to drain its node")
	}
	if a.ReleaseFinalizer && controllerutil.ContainsFinalizer(task, v1alpha1.TaskFinalizer) {
		orig := task.DeepCopy()
		controllerutil.RemoveFinalizer(task, v1alpha1.TaskFinalizer)
		if err := r.Client.Patch(ctx, task, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}), client.FieldOwner(FieldOwner)); err != nil {
			return fmt.Errorf("failed to release task %s of a gone node: %w", a.Task, err)
		}
		logger.Info("Finalizer of a task on a gone node removed")
	}
	return nil
}

// patchTaskStatus writes, in one patch, the state and the Evicted condition
// that a decides for task, unless the task is terminal or has them already.
func (r *Reconciler) patchTaskStatus(ctx context.Context, task *v1alpha1.Task, a TaskAction) error {
	if task.IsTerminal() {
		return nil
	}
	orig := task.DeepCopy()
	now := metav1.NewTime(r.Options.Clock.Now())
	if a.State != "" {
		task.Status.State, task.Status.Reason, task.Status.Message = a.State, a.Reason, a.Message
		if a.State.IsTerminal() && task.Status.FinishedAt == nil {
			task.Status.FinishedAt = &now
		}
	}
	if a.Evict != nil {
		c := *a.Evict
		c.LastTransitionTime = now
		meta.SetStatusCondition(&task.Status.Conditions, c)
	}
	if a.Unevict {
		meta.RemoveStatusCondition(&task.Status.Conditions, v1alpha1.TaskEvictedCondition)
	}
	if equality.Semantic.DeepEqual(orig.Status, task.Status) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, task, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}), client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("failed to update the status of task %s for its node: %w", a.Task, err)
	}
	log.FromContext(ctx).Info("Task status set for its node", "task", a.Task, "state", a.State, "reason", a.Reason,
		"evicted", a.Evict != nil, "unevicted", a.Unevict)
	return nil
}

// patchStatus writes the node's phase and conditions when they differ from
// its status, with optimistic locking: the Ready condition is shared with the
// agent, which writes it with server-side apply. It reports whether it wrote.
func (r *Reconciler) patchStatus(ctx context.Context, node *v1alpha1.Node, d Decision) (bool, error) {
	if node.Status.Phase == d.Phase && equality.Semantic.DeepEqual(node.Status.Conditions, d.Conditions) {
		return false, nil
	}
	patched := node.DeepCopy()
	patched.Status.Phase, patched.Status.Conditions = d.Phase, d.Conditions
	err := r.Client.Status().Patch(ctx, patched, client.MergeFromWithOptions(node, client.MergeFromWithOptimisticLock{}), client.FieldOwner(FieldOwner))
	if err != nil {
		return false, fmt.Errorf("failed to update the status of node %s: %w", node.Name, err)
	}
	return true, nil
}
