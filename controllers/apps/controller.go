package apps

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/sdk"
)

// DefaultFrameworkName is the name of the apps framework in each namespace.
const DefaultFrameworkName = "apps"

// Options configure the apps framework.
type Options struct {
	// FrameworkName is the name of the Framework in each namespace with Apps.
	FrameworkName string
	// BackoffReset is how long a task must run for its failure to restart the
	// App's backoff streak; defaults to DefaultBackoffReset.
	BackoffReset time.Duration
	// FailoverTimeout is the frameworks' spec.failoverTimeout; zero keeps the
	// API's default.
	FailoverTimeout time.Duration
	// LeaseDuration and RenewInterval tune the frameworks' Leases; zero keeps
	// the SDK's defaults.
	LeaseDuration, RenewInterval time.Duration
	// MaxConcurrentReconciles is how many Apps are reconciled at once.
	MaxConcurrentReconciles int
	// Now returns the time; defaults to time.Now.
	Now func() time.Time
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{
		FrameworkName:           DefaultFrameworkName,
		BackoffReset:            DefaultBackoffReset,
		MaxConcurrentReconciles: 4,
		Now:                     time.Now,
	}
}

// Controller is the apps framework: the App reconciler and the frameworks it
// drives.
type Controller struct {
	c      client.Client
	opts   Options
	fws    *sdk.PerNamespace[*placer]
	kills  *killExpectations
	events chan event.GenericEvent // Apps whose placement explanation changed
	owned  *sdk.TaskIndex
}

// New sets up the apps framework in mgr.
func New(mgr ctrl.Manager, opts Options) (*Controller, error) {
	def := DefaultOptions()
	if opts.FrameworkName == "" {
		opts.FrameworkName = def.FrameworkName
	}
	if opts.BackoffReset <= 0 {
		opts.BackoffReset = def.BackoffReset
	}
	if opts.MaxConcurrentReconciles <= 0 {
		opts.MaxConcurrentReconciles = def.MaxConcurrentReconciles
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	owned, err := sdk.IndexOwnedTasks(context.Background(), mgr.GetCache(), opts.FrameworkName, AnnotationApp)
	if err != nil {
		return nil, err
	}
	r := &Controller{c: mgr.GetClient(), opts: opts, kills: newKillExpectations(), events: make(chan event.GenericEvent, 256), owned: owned}
	r.fws = newFrameworks(mgr, opts, r.notify)
	if err := mgr.Add(r.fws); err != nil {
		return nil, fmt.Errorf("failed to add the apps frameworks: %w", err)
	}
	err = ctrl.NewControllerManagedBy(mgr).
		Named("apps").
		For(&v1alpha1.App{}).
		Watches(&v1alpha1.Task{}, handler.EnqueueRequestsFromMapFunc(sdk.RequestsByAnnotation(AnnotationApp)),
			builder.WithPredicates(predicate.NewPredicateFuncs(r.isOurTask))).
		WatchesRawSource(source.Channel(r.events, &handler.EnqueueRequestForObject{})).
		// Names are unique per process; tests run several masters in one.
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles, SkipNameValidation: ptr.To(true)}).
		Complete(r)
	if err != nil {
		return nil, fmt.Errorf("failed to set up the apps controller: %w", err)
	}
	return r, nil
}

// notify asks for a reconcile of an App whose placement explanation changed.
func (r *Controller) notify(ctx context.Context, ns, app string) {
	ev := event.GenericEvent{Object: &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app}}}
	select {
	case r.events <- ev:
	case <-ctx.Done():
	}
}

// isOurTask reports whether obj is a task of the apps framework.
func (r *Controller) isOurTask(obj client.Object) bool {
	t, ok := obj.(*v1alpha1.Task)
	return ok && t.Spec.Framework == r.opts.FrameworkName && t.Annotations[AnnotationApp] != ""
}

// Reconcile brings one App, its tasks and its status up to date.
func (r *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	app := &v1alpha1.App{}
	err := r.c.Get(ctx, req.NamespacedName, app)
	switch {
	case apierrors.IsNotFound(err):
		return reconcile.Result{}, r.reconcileGone(ctx, req.NamespacedName)
	case err != nil:
		return reconcile.Result{}, err
	case app.DeletionTimestamp != nil:
		return r.reconcileDelete(ctx, app)
	}
	if added, err := r.ensureFinalizer(ctx, app); added || err != nil {
		return reconcile.Result{}, err // the update brings the App back
	}
	return r.reconcileApp(ctx, app)
}

// tasksNamed returns the tasks the framework launched for Apps of that name,
// whatever their UID. They are the cache's own objects: read them and delete
// them, never change them.
func (r *Controller) tasksNamed(key types.NamespacedName) ([]*v1alpha1.Task, error) {
	return r.owned.List(key)
}

// kill deletes a task that has not ended, unless it is being deleted already,
// and remembers it so that a stale cache does not count it as live.
func (r *Controller) kill(ctx context.Context, t *v1alpha1.Task) error {
	if t.DeletionTimestamp != nil || t.IsTerminal() {
		return nil
	}
	log.FromContext(ctx).Info("Killing task", "task", t.Name, "state", t.Status.State)
	r.kills.expect(t.UID, r.opts.Now())
	return r.delete(ctx, t)
}

// delete deletes a task (of this UID) if it still exists.
func (r *Controller) delete(ctx context.Context, t *v1alpha1.Task) error {
	err := r.c.Delete(ctx, t, client.Preconditions{UID: &t.UID})
	if client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("failed to delete task %s: %w", t.Name, err)
	}
	return nil
}

// patchStatus writes the status if it changed, with optimistic concurrency.
func (r *Controller) patchStatus(ctx context.Context, app *v1alpha1.App, st v1alpha1.AppStatus) error {
	if equality.Semantic.DeepEqual(app.Status, st) {
		return nil
	}
	before := app.DeepCopy()
	app.Status = st
	err := r.c.Status().Patch(ctx, app, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	switch {
	case apierrors.IsConflict(err):
		// The cache's copy is behind: the newer version's event brings the
		// app back, and its status is worked out again from that.
		return nil
	case err != nil:
		return fmt.Errorf("failed to update the status of app %s: %w", app.Name, err)
	}
	return nil
}

// now returns the time, truncated to the second as API times are.
func (r *Controller) now() time.Time { return r.opts.Now().Truncate(time.Second) }
