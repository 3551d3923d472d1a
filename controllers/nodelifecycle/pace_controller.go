package nodelifecycle

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
)

// paceResync is how often the pace is written again even when no node came
// or went, which restores a ConfigMap someone edited or removed.
const paceResync = time.Minute

// Keys of NodeHeartbeatConfigMap that say how the pace was chosen (for how
// many nodes, under which budget); the agents read only the pace itself.
const (
	paceNodesKey  = "nodes"
	paceBudgetKey = "maxHeartbeatsPerSecond"
)

// PaceReconciler keeps NodeHeartbeatConfigMap at the pace of the cluster's
// size (PaceFor). It counts Nodes when one is created or removed, and reads
// and writes the ConfigMap only when the pace or the budget changes, and once
// a minute (which restores a ConfigMap someone edited or removed).
type PaceReconciler struct {
	// Client lists Nodes from the manager's cache and writes the ConfigMap.
	Client client.Client
	// APIReader reads the ConfigMap from the API server (the manager does not
	// cache ConfigMaps).
	APIReader client.Reader
	// Options are the budget, the node timeout and the namespace.
	Options Options

	// last is the data last read or written, at checked: while the pace
	// stays the same, nodes that come and go cost no read (the one worker
	// owns both).
	last    map[string]string
	checked time.Time
}

// SetupWithManager starts counting Nodes as they come and go.
func (r *PaceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.Options = r.Options.complete()
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: r.Options.LeaseNamespace, Name: v1alpha1.NodeHeartbeatConfigMap}}}
	})
	comesOrGoes := predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return true },
		DeleteFunc:  func(event.DeleteEvent) bool { return true },
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodeheartbeatpace").
		Watches(&v1alpha1.Node{}, one, builder.WithPredicates(comesOrGoes)).
		WithOptions(controller.Options{MaxConcurrentReconciles: 1, SkipNameValidation: &skipNameValidation}).
		Complete(r)
}

// Reconcile writes the pace of the cluster's current size.
func (r *PaceReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var nodes v1alpha1.NodeList
	if err := r.Client.List(ctx, &nodes, client.UnsafeDisableDeepCopy); err != nil {
		return reconcile.Result{}, fmt.Errorf("failed to list nodes: %w", err)
	}
	pace := PaceFor(len(nodes.Items), r.Options.MaxHeartbeatsPerSecond, r.Options.NodeTimeout)
	want := PaceData(pace, len(nodes.Items), r.Options.MaxHeartbeatsPerSecond)
	now := r.Options.Clock.Now()
	if since := now.Sub(r.checked); r.last != nil && samePace(r.last, want) && since < paceResync {
		return reconcile.Result{RequeueAfter: paceResync - since}, nil
	}
	cm := &corev1.ConfigMap{}
	err := r.APIReader.Get(ctx, req.NamespacedName, cm)
	switch {
	case apierrors.IsNotFound(err):
		cm = &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: req.Namespace, Name: req.Name, Labels: map[string]string{"app.kubernetes.io/part-of": "meseta"}},
			Data:       want,
		}
		if err := r.Client.Create(ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
			return reconcile.Result{}, fmt.Errorf("failed to create the node heartbeat pace: %w", err)
		}
	case err != nil:
		return reconcile.Result{}, fmt.Errorf("failed to read the node heartbeat pace: %w", err)
	case !samePace(cm.Data, want):
		cm.Data = want
		if err := r.Client.Update(ctx, cm); err != nil {
			return reconcile.Result{}, fmt.Errorf("failed to write the node heartbeat pace: %w", err)
		}
	default:
		r.last, r.checked = cm.Data, now
		return reconcile.Result{RequeueAfter: paceResync}, nil
	}
	r.last, r.checked = want, now
	log.FromContext(ctx).Info("Node heartbeat pace written", "nodes", len(nodes.Items), "interval", pace.Interval, "nodeTimeout", pace.NodeTimeout)
	return reconcile.Result{RequeueAfter: paceResync}, nil
}

// samePace reports whether two data of NodeHeartbeatConfigMap say the same
// pace under the same budget. The node count is not compared: it says how
// many nodes the pace was chosen for, and is written with the pace, not with
// every node that registers.
func samePace(a, b map[string]string) bool {
	return maps.Equal(without(a, paceNodesKey), without(b, paceNodesKey))
}

// without returns a copy of data without key.
func without(data map[string]string, key string) map[string]string {
	out := maps.Clone(data)
	delete(out, key)
	return out
}

// PaceData is the data of NodeHeartbeatConfigMap for pace, chosen for nodes
// under the budget maxPerSecond: the pace's keys only when it has an
// Interval, and how it was chosen.
func PaceData(pace Pace, nodes int, maxPerSecond float64) map[string]string {
	data := map[string]string{
		paceNodesKey:  strconv.Itoa(nodes),
		paceBudgetKey: strconv.FormatFloat(maxPerSecond, 'f', -1, 64),
	}
	if pace.Interval > 0 {
		data[v1alpha1.NodeHeartbeatIntervalKey] = pace.Interval.String()
		data[v1alpha1.NodeHeartbeatTimeoutKey] = pace.NodeTimeout.String()
	}
	return data
}
