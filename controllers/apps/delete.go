package apps

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/sdk"
)

// deleteRecheck is how often a deleted App whose tasks are still going is
// looked at again, in case a task event is missed.
const deleteRecheck = 5 * time.Second

// ensureFinalizer adds AppFinalizer to app; it reports whether it did.
func (r *Controller) ensureFinalizer(ctx context.Context, app *v1alpha1.App) (bool, error) {
	if controllerutil.ContainsFinalizer(app, v1alpha1.AppFinalizer) {
		return false, nil
	}
	before := app.DeepCopy()
	controllerutil.AddFinalizer(app, v1alpha1.AppFinalizer)
	if err := r.c.Patch(ctx, app, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return false, fmt.Errorf("failed to add the finalizer to app %s: %w", app.Name, err)
	}
	return true, nil
}

// reconcileDelete kills the tasks of a deleted App and deletes the ended ones;
// once none is left, it removes the App's finalizer.
func (r *Controller) reconcileDelete(ctx context.Context, app *v1alpha1.App) (reconcile.Result, error) {
	if pl, ok := r.fws.Existing(app.Namespace); ok {
		pl.Set(app.Name, sdk.Group{}, nil)
	}
	tasks, err := r.tasksNamed(client.ObjectKeyFromObject(app))
	if err != nil {
		return reconcile.Result{}, err
	}
	for _, t := range tasks {
		if t.DeletionTimestamp != nil {
			continue
		}
		if err := r.kill(ctx, t); err != nil {
			return reconcile.Result{}, err
		}
		if t.IsTerminal() {
			if err := r.delete(ctx, t); err != nil {
				return reconcile.Result{}, err
			}
		}
	}
	if len(tasks) > 0 {
		log.FromContext(ctx).V(1).Info("Waiting for the tasks of a deleted app to go", "tasks", len(tasks))
		return reconcile.Result{RequeueAfter: deleteRecheck}, nil
	}
	if !controllerutil.ContainsFinalizer(app, v1alpha1.AppFinalizer) {
		return reconcile.Result{}, nil
	}
	before := app.DeepCopy()
	controllerutil.RemoveFinalizer(app, v1alpha1.AppFinalizer)
	if err := r.c.Patch(ctx, app, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})); err != nil {
		return reconcile.Result{}, fmt.Errorf("failed to remove the finalizer of app %s: %w", app.Name, err)
	}
	log.FromContext(ctx).Info("Deleted app has no tasks left")
	return reconcile.Result{}, nil
}

// reconcileGone kills the tasks of an App that is gone (its finalizer was
// removed by hand, or it was deleted while the framework did not run) and,
// when it was the namespace's last App, unregisters the namespace's
// framework.
func (r *Controller) reconcileGone(ctx context.Context, key types.NamespacedName) error {
	if pl, ok := r.fws.Existing(key.Namespace); ok {
		pl.Set(key.Name, sdk.Group{}, nil)
	}
	tasks, err := r.tasksNamed(key)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if err := r.kill(ctx, t); err != nil {
			return err
		}
	}
	apps := &v1alpha1.AppList{}
	if err := r.c.List(ctx, apps, client.InNamespace(key.Namespace), client.Limit(1)); err != nil {
		return fmt.Errorf("failed to list apps: %w", err)
	}
	if len(apps.Items) > 0 {
		return nil
	}
	return r.fws.Stop(ctx, key.Namespace)
}
