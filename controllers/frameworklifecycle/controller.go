package frameworklifecycle

import (
	"context"
	"fmt"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/sdk"
)

// Name is the controller's name, and the reporting controller of its events.
const Name = "meseta.dev/framework-lifecycle"

// conflictRetry is how soon a framework whose write met a newer version of an
// object is looked at again.
const conflictRetry = 200 * time.Millisecond

// skipNameValidation lets a process run several masters (tests do).
var skipNameValidation = true

// Reconciler is the framework lifecycle controller. See the package
// documentation.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads from the API server, to confirm a teardown or an
	// inactive framework (needsConfirmation).
	APIReader client.Reader
	// Recorder records events on frameworks; nil records none.
	Recorder events.EventRecorder
	// Options are the clock and the number of workers.
	Options Options

	sinceOnce sync.Once
	since     time.Time
	tasks     *sdk.TaskIndex
}

// Setup registers the framework lifecycle controller with mgr.
func Setup(mgr ctrl.Manager, o Options) error {
	r := &Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder(Name), Options: o}
	return r.SetupWithManager(mgr)
}

// SetupWithManager indexes tasks by framework and starts watching
// Frameworks, Leases and Tasks.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.Options = r.Options.complete()
	tasks, err := sdk.IndexFrameworkTasks(context.Background(), mgr.GetCache())
	if err != nil {
		return err
	}
	r.tasks = tasks
	return ctrl.NewControllerManagedBy(mgr).
		Named("frameworklifecycle").
		For(&v1alpha1.Framework{}).
		Watches(&coordinationv1.Lease{}, handler.EnqueueRequestsFromMapFunc(sameKey)).
		Watches(&v1alpha1.Task{}, sdk.EnqueueAfter(taskToFramework, r.Options.TaskBatch)).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Options.Workers, SkipNameValidation: &skipNameValidation}).
		Complete(r)
}

// sameKey maps a Lease to the Framework of the same namespace and name.
func sameKey(_ context.Context, obj client.Object) []reconcile.Request {
	return []reconcile.Request{{NamespacedName: client.ObjectKeyFromObject(obj)}}
}

func taskToFramework(_ context.Context, obj client.Object) []reconcile.Request {
	t, ok := obj.(*v1alpha1.Task)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: t.Namespace, Name: t.Spec.Framework}}}
}

// Reconcile brings one framework's status, finalizer and tasks in line with
// its Lease, its failover timeout and its deletion.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	r.sinceOnce.Do(func() { r.since = r.Options.Clock.Now() })
	in, err := r.read(ctx, req.NamespacedName)
	if err != nil || in == nil {
		return reconcile.Result{}, err
	}
	fw := in.Framework
	d := Decide(*in)
	if needsConfirmation(fw, d) {
		if d, err = r.confirmLease(ctx, in, d); err != nil {
			return reconcile.Result{}, err
		}
	}
	if d.AddFinalizer {
		if err := r.addFinalizer(ctx, fw); err != nil {
			return conflictOr(err)
		}
	}
	conflicted, err := r.deleteTasks(ctx, d.Delete)
	if err != nil {
		return reconcile.Result{}, err
	}
	if d.RemoveFinalizer {
		// The framework goes away with its finalizer: its status no longer
		// matters.
		return conflictOr(r.removeFinalizer(ctx, fw))
	}
	wrote, err := r.applyStatus(ctx, fw, d.Status)
	if err != nil {
		return reconcile.Result{}, err
	}
	if wrote {
		r.recordTransition(ctx, fw, d)
	}
	if conflicted {
		return reconcile.Result{RequeueAfter: conflictRetry}, nil
	}
	return reconcile.Result{RequeueAfter: d.RequeueAfter}, nil
}

// conflictOr returns a quick requeue for a conflict (the newer version of the
// object brings the framework back anyway), and err otherwise.
func conflictOr(err error) (reconcile.Result, error) {
	if apierrors.IsConflict(err) {
		return reconcile.Result{RequeueAfter: conflictRetry}, nil
	}
	return reconcile.Result{}, err
}

// read gathers the framework, its Lease and its tasks; nil means the
// framework does not exist.
func (r *Reconciler) read(ctx context.Context, key types.NamespacedName) (*Input, error) {
	in := &Input{Framework: &v1alpha1.Framework{}, Now: r.Options.Clock.Now(), Since: r.since}
	if err := r.Client.Get(ctx, key, in.Framework); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("failed to get framework %s: %w", key, err)
	}
	lease := &coordinationv1.Lease{}
	switch err := r.Client.Get(ctx, key, lease); {
	case err == nil:
		in.Lease = lease
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("failed to get the lease of framework %s: %w", key, err)
	}
	tasks, err := r.tasks.List(key)
	if err != nil {
		return nil, err
	}
	in.Tasks = tasks
	return in, nil
}

// needsConfirmation reports whether decision d about fw must be made again
// on the Lease as the API server has it, not as the cache has it: a teardown
// is final, and going inactive rescinds the framework's offers (its launches
// still on their way are dropped). Under load the cache's copy of the Lease
// can lag behind renewals by seconds, and a framework that renewed in time
// must not pay for that lag.
func needsConfirmation(fw *v1alpha1.Framework, d Decision) bool {
	return (d.TornDown && fw.Status.Phase != v1alpha1.FrameworkTornDown) ||
		(d.Status.Phase == v1alpha1.FrameworkInactive && fw.Status.Phase != v1alpha1.FrameworkInactive)
}

// confirmLease decides again with the framework's Lease read from the API
// server, when that differs from the cache's.
func (r *Reconciler) confirmLease(ctx context.Context, in *Input, d Decision) (Decision, error) {
	lease := &coordinationv1.Lease{}
	err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(in.Framework), lease)
	switch {
	case apierrors.IsNotFound(err):
		lease = nil
	case err != nil:
		return d, fmt.Errorf("failed to get the lease of framework %s/%s: %w", in.Framework.Namespace, in.Framework.Name, err)
	}
	if (lease == nil) == (in.Lease == nil) && (lease == nil || lease.ResourceVersion == in.Lease.ResourceVersion) {
		return d, nil
	}
	fresh := *in
	fresh.Lease = lease
	return Decide(fresh), nil
}

// recordTransition logs and records an event when the framework's phase
// changed.
func (r *Reconciler) recordTransition(ctx context.Context, fw *v1alpha1.Framework, d Decision) {
	old := fw.Status.Phase
	if old == d.Status.Phase {
		return
	}
	log.FromContext(ctx).Info("Framework phase changed", "from", old, "to", d.Status.Phase)
	if r.Recorder == nil {
		return
	}
	switch d.Status.Phase {
	case v1alpha1.FrameworkTornDown:
		r.Recorder.Eventf(fw, nil, corev1.EventTypeWarning, "FrameworkTornDown", "TearDown",
			"Inactive for longer than the failover timeout: killing %d tasks", d.Status.Tasks)
	case v1alpha1.FrameworkInactive:
		r.Recorder.Eventf(fw, nil, corev1.EventTypeWarning, "FrameworkInactive", "Deactivate", "%s", d.Lease.describe(fw.Namespace, fw.Name))
	case v1alpha1.FrameworkActive, v1alpha1.FrameworkSuppressed:
		if old == "" || old == v1alpha1.FrameworkInactive {
			r.Recorder.Eventf(fw, nil, corev1.EventTypeNormal, "FrameworkActive", "Activate", "%s", d.Lease.describe(fw.Namespace, fw.Name))
		}
	}
}
