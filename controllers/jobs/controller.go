package jobs

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/sdk"
)

// Defaults of Options.
const (
	// DefaultFrameworkName is the name of the jobs framework in each namespace.
	DefaultFrameworkName = "jobs"
	// DefaultBackoff is the delay before a failed index is retried the first
	// time; it doubles with each failure of the job.
	DefaultBackoff = time.Second
	// DefaultMaxBackoff is the longest delay between retries.
	DefaultMaxBackoff = 2 * time.Minute
	// DefaultTaskBatch is how long the changes of a Job's tasks are gathered
	// before the Job is reconciled.
	DefaultTaskBatch = 500 * time.Millisecond
)

// Options configure the jobs framework.
type Options struct {
	// FrameworkName is the name of the Framework in each namespace with Jobs.
	FrameworkName string
	// Backoff delays retries of failed tasks.
	Backoff Backoff
	// StartingWindow is how late a scheduled run may start.
	StartingWindow time.Duration
	// FailoverTimeout is the frameworks' spec.failoverTimeout; zero keeps the
	// API's default.
	FailoverTimeout time.Duration
	// LeaseDuration and RenewInterval tune the frameworks' Leases; zero keeps
	// the SDK's defaults.
	LeaseDuration, RenewInterval time.Duration
	// MaxConcurrentReconciles is how many Jobs are reconciled at once.
	MaxConcurrentReconciles int
	// TaskBatch is how long the changes of a Job's tasks are gathered before
	// the Job is reconciled: a Job whose tasks change all the time is planned
	// and its status written at most once per TaskBatch.
	TaskBatch time.Duration
	// Now returns the time; defaults to time.Now.
	Now func() time.Time
}

// DefaultOptions returns the defaults.
func DefaultOptions() Options {
	return Options{
		FrameworkName:           DefaultFrameworkName,
		Backoff:                 Backoff{Initial: DefaultBackoff, Max: DefaultMaxBackoff},
		StartingWindow:          DefaultStartingWindow,
		MaxConcurrentReconciles: 4,
		TaskBatch:               DefaultTaskBatch,
		Now:                     time.Now,
	}
}

// Setup runs the jobs framework in the master's manager with the default
// options; it is a master.ControllerSetup.
func Setup(mgr ctrl.Manager, _ master.SchedulingOptions) error {
	_, err := New(mgr, DefaultOptions())
	return err
}

// Controller is the jobs framework: the Job reconciler and the frameworks it
// drives.
type Controller struct {
	c     client.Client
	opts  Options
	fws   *sdk.PerNamespace[*sdk.Queue]
	owned *sdk.TaskIndex
}

// New sets up the jobs framework in mgr.
func New(mgr ctrl.Manager, opts Options) (*Controller, error) {
	def := DefaultOptions()
	if opts.FrameworkName == "" {
		opts.FrameworkName = def.FrameworkName
	}
	if opts.StartingWindow <= 0 {
		opts.StartingWindow = def.StartingWindow
	}
	if opts.MaxConcurrentReconciles <= 0 {
		opts.MaxConcurrentReconciles = def.MaxConcurrentReconciles
	}
	if opts.TaskBatch <= 0 {
		opts.TaskBatch = def.TaskBatch
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	owned, err := sdk.IndexOwnedTasks(context.Background(), mgr.GetCache(), opts.FrameworkName, AnnotationJob)
	if err != nil {
		return nil, err
	}
	r := &Controller{c: mgr.GetClient(), opts: opts, fws: newFrameworks(mgr, opts), owned: owned}
	if err := mgr.Add(r.fws); err != nil {
		return nil, fmt.Errorf("failed to add the jobs frameworks: %w", err)
	}
	err = ctrl.NewControllerManagedBy(mgr).
		Named("jobs").
		For(&v1alpha1.Job{}).
		Watches(&v1alpha1.Task{}, sdk.EnqueueByAnnotationAfter(AnnotationJob, opts.TaskBatch),
			builder.WithPredicates(predicate.NewPredicateFuncs(r.isOurTask))).
		Watches(&v1alpha1.Job{}, handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), &v1alpha1.Job{}, handler.OnlyControllerOwner())).
		// Names are unique per process; tests run several masters in one.
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles, SkipNameValidation: ptr.To(true)}).
		Complete(r)
	if err != nil {
		return nil, fmt.Errorf("failed to set up the jobs controller: %w", err)
	}
	return r, nil
}

// isOurTask reports whether obj is a task of the jobs framework.
func (r *Controller) isOurTask(obj client.Object) bool {
	t, ok := obj.(*v1alpha1.Task)
	return ok && t.Spec.Framework == r.opts.FrameworkName && t.Annotations[AnnotationJob] != ""
}

// Reconcile brings one Job, its tasks or runs, and its status up to date.
func (r *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	job := &v1alpha1.Job{}
	err := r.c.Get(ctx, req.NamespacedName, job)
	switch {
	case apierrors.IsNotFound(err):
		return reconcile.Result{}, r.reconcileGone(ctx, req.NamespacedName, "")
	case err != nil:
		return reconcile.Result{}, err
	case job.DeletionTimestamp != nil:
		return reconcile.Result{}, r.reconcileGone(ctx, req.NamespacedName, job.UID)
	case job.Spec.Schedule != "":
		return r.reconcileScheduled(ctx, job)
	}
	return r.reconcileRun(ctx, job)
}

// reconcileGone kills the tasks of a Job that is gone (or going) and, when it
// was the namespace's last Job, unregisters the namespace's framework.
func (r *Controller) reconcileGone(ctx context.Context, key types.NamespacedName, uid types.UID) error {
	if q, ok := r.fws.Existing(key.Namespace); ok {
		q.Delete(key.Name)
	}
	tasks, err := r.tasksNamed(key)
	if err != nil {
		return err
	}
	for i := range tasks {
		if uid != "" && tasks[i].Labels[LabelJobUID] != string(uid) {
			continue
		}
		if err := r.kill(ctx, tasks[i]); err != nil {
			return err
		}
	}
	jobs := &v1alpha1.JobList{}
	if err := r.c.List(ctx, jobs, client.InNamespace(key.Namespace), client.Limit(1)); err != nil {
		return fmt.Errorf("failed to list jobs: %w", err)
	}
	if len(jobs.Items) > 0 {
		return nil
	}
	return r.fws.Stop(ctx, key.Namespace)
}

// tasksNamed returns the tasks the framework launched for Jobs of that name,
// whatever their UID. They are the cache's own objects: read them and delete
// them, never change them.
func (r *Controller) tasksNamed(key types.NamespacedName) ([]*v1alpha1.Task, error) {
	return r.owned.List(key)
}

// kill deletes a task that still runs (or has not ended), unless it is being
// deleted already.
func (r *Controller) kill(ctx context.Context, t *v1alpha1.Task) error {
	if t.DeletionTimestamp != nil || t.IsTerminal() {
		return nil
	}
	log.FromContext(ctx).Info("Killing task", "task", t.Name)
	err := r.c.Delete(ctx, t, client.Preconditions{UID: &t.UID})
	if client.IgnoreNotFound(err) != nil && !apierrors.IsConflict(err) {
		return fmt.Errorf("failed to kill task %s: %w", t.Name, err)
	}
	return nil
}

// patchStatus writes the status if it changed, with optimistic concurrency.
func (r *Controller) patchStatus(ctx context.Context, job *v1alpha1.Job, st v1alpha1.JobStatus) error {
	if equalStatus(job.Status, st) {
		return nil
	}
	before := job.DeepCopy()
	job.Status = st
	err := r.c.Status().Patch(ctx, job, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	switch {
	case apierrors.IsConflict(err):
		// The cache's copy is behind: the newer version's event brings the
		// job back, and its status is worked out again from that.
		return nil
	case err != nil:
		return fmt.Errorf("failed to update the status of job %s: %w", job.Name, err)
	}
	return nil
}

// now returns the time, truncated to the second as API times are.
func (r *Controller) now() time.Time { return r.opts.Now().Truncate(time.Second) }

// equalStatus compares statuses semantically.
func equalStatus(a, b v1alpha1.JobStatus) bool {
	return equality.Semantic.DeepEqual(a, b)
}
