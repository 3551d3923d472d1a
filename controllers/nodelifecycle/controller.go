package nodelifecycle

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
)

// Name is the controller's name, and the reporting controller of its events.
const Name = "meseta.dev/node-lifecycle"

// TaskNodeIndex indexes Tasks by spec.nodeName in the manager's cache.
const TaskNodeIndex = "meseta.dev/node-lifecycle.nodeName"

// conflictRetry is how soon a node whose write met a newer version of an
// object is looked at again.
const conflictRetry = 200 * time.Millisecond

// skipNameValidation lets a process run several masters (tests do).
var skipNameValidation = true

// Reconciler is the node lifecycle controller. See the package documentation.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads from the API server, to confirm that a Node is gone
	// before its tasks are.
	APIReader client.Reader
	// Recorder records events on nodes; nil records none.
	Recorder events.EventRecorder
	// Options are the timeouts and the clock.
	Options Options

	sinceOnce sync.Once
	since     time.Time
}

// Setup registers the node lifecycle controller with mgr.
func Setup(mgr ctrl.Manager, o Options) error {
	r := &Reconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder(Name),
		Options:   o.complete(),
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	pace := &PaceReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Options: r.Options}
	return pace.SetupWithManager(mgr)
}

// SetupWithManager indexes tasks by node and starts watching Nodes, the
// agents' Leases and Tasks.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.Options = r.Options.complete()
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Task{}, TaskNodeIndex, func(obj client.Object) []string {
		if n := obj.(*v1alpha1.Task).Spec.NodeName; n != "" {
			return []string{n}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("failed to index tasks by node: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodelifecycle").
		For(&v1alpha1.Node{}).
		Watches(&coordinationv1.Lease{}, handler.EnqueueRequestsFromMapFunc(r.leaseToNode)).
		Watches(&v1alpha1.Task{}, handler.EnqueueRequestsFromMapFunc(taskToNode)).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Options.Workers, SkipNameValidation: &skipNameValidation}).
		Complete(r)
}

func (r *Reconciler) leaseToNode(_ context.Context, obj client.Object) []reconcile.Request {
	if obj.GetNamespace() != r.Options.LeaseNamespace {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: obj.GetName()}}}
}

func taskToNode(_ context.Context, obj client.Object) []reconcile.Request {
	t, ok := obj.(*v1alpha1.Task)
	if !ok || t.Spec.NodeName == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: t.Spec.NodeName}}}
}

// Reconcile brings one node's status and its tasks in line with the node's
// liveness and drain.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	r.sinceOnce.Do(func() { r.since = r.Options.Clock.Now() })
	in, err := r.read(ctx, req.Name)
	if err != nil || in == nil {
		return reconcile.Result{}, err
	}
	d := Decide(*in, r.Options)
	if d.Liveness == Gone && in.Node != nil && (len(d.Tasks) > 0 || in.Node.Status.Phase != v1alpha1.NodeGone) {
		// Gone is final for the tasks: decide it on the Lease as the API
		// server has it, not as the cache may still have it.
		if d, err = r.confirmGone(ctx, in, d); err != nil {
			return reconcile.Result{}, err
		}
	}
	conflicted, err := r.applyTasks(ctx, d.Tasks)
	if err != nil {
		return reconcile.Result{}, err
	}
	if in.Node != nil {
		wrote, err := r.patchStatus(ctx, in.Node, d)
		switch {
		case apierrors.IsConflict(err):
			conflicted = true
		case err != nil:
			return reconcile.Result{}, err
		case wrote:
			r.recordTransition(ctx, in.Node, d)
		}
	}
	if conflicted {
		return reconcile.Result{RequeueAfter: conflictRetry}, nil
	}
	return reconcile.Result{RequeueAfter: d.RequeueAfter}, nil
}

// read gathers the node, its Lease and its tasks; nil means there is nothing
// to do (a removed node without tasks, or one the cache is behind on).
func (r *Reconciler) read(ctx context.Context, name string) (*Input, error) {
	in := &Input{Name: name, Now: r.Options.Clock.Now(), Since: r.since}
	node := &v1alpha1.Node{}
	if err := r.Client.Get(ctx, types.NamespacedName{Name: name}, node); err == nil {
		in.Node = node
	} else if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("failed to get node %s: %w", name, err)
	}
	var tasks v1alpha1.TaskList
	if err := r.Client.List(ctx, &tasks, client.MatchingFields{TaskNodeIndex: name}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("failed to list the tasks of node %s: %w", name, err)
	}
	in.Tasks = tasks.Items
	if in.Node == nil {
		if len(in.Tasks) == 0 {
			return nil, nil
		}
		// Declaring tasks gone is final: make sure the node is really gone.
		err := r.APIReader.Get(ctx, types.NamespacedName{Name: name}, &v1alpha1.Node{})
		if err == nil {
			return nil, nil // the cache is behind; the node's event brings it back
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("failed to get node %s: %w", name, err)
		}
	}
	lease := &coordinationv1.Lease{}
	err := r.Client.Get(ctx, types.NamespacedName{Namespace: r.Options.LeaseNamespace, Name: name}, lease)
	switch {
	case err == nil:
		in.Lease = lease
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("failed to get the lease of node %s: %w", name, err)
	}
	return in, nil
}

// confirmGone decides again with the node's Lease read from the API server.
func (r *Reconciler) confirmGone(ctx context.Context, in *Input, d Decision) (Decision, error) {
	lease := &coordinationv1.Lease{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: r.Options.LeaseNamespace, Name: in.Name}, lease)
	switch {
	case apierrors.IsNotFound(err):
		lease = nil
	case err != nil:
		return d, fmt.Errorf("failed to get the lease of node %s: %w", in.Name, err)
	}
	if leaseRenewed(lease).Equal(leaseRenewed(in.Lease)) {
		return d, nil
	}
	fresh := *in
	fresh.Lease = lease
	return Decide(fresh, r.Options), nil
}

// recordTransition records an event when the node's phase changed in a way
// operators care about.
func (r *Reconciler) recordTransition(ctx context.Context, node *v1alpha1.Node, d Decision) {
	old := node.Status.Phase
	if old == d.Phase {
		return
	}
	log.FromContext(ctx).Info("Node phase changed", "from", old, "to", d.Phase, "liveness", d.Liveness)
	if r.Recorder == nil {
		return
	}
	switch {
	case d.Phase == v1alpha1.NodeUnreachable:
		r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, "NodeUnreachable", "MarkUnreachable",
			"No heartbeat since %s; %d tasks marked Unreachable", d.LastSeen.UTC().Format(time.RFC3339), d.Remaining)
	case d.Phase == v1alpha1.NodeGone:
		r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, "NodeGone", "MarkGone", "Node declared gone; its tasks are Gone")
	case old == v1alpha1.NodeUnreachable || old == v1alpha1.NodeGone:
		r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, "NodeReachable", "MarkReachable", "The agent heartbeats again")
	case d.Phase == v1alpha1.NodeDraining:
		r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, "NodeDraining", "Drain", "Killing %d tasks to drain the node", d.Remaining)
	case d.Phase == v1alpha1.NodeDrained:
		r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, "NodeDrained", "Drain", "No task is left on the node")
	}
}
