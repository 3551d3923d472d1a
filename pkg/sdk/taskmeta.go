package sdk

import (
	"context"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
)

// DefaultEnv adds each variable to the task's container environment unless
// the task sets one of that name already (the template wins).
func DefaultEnv(t *v1alpha1.Task, vars ...v1alpha1.EnvVar) {
	for _, v := range vars {
		if !slices.ContainsFunc(t.Spec.Container.Env, func(e v1alpha1.EnvVar) bool { return e.Name == v.Name }) {
			t.Spec.Container.Env = append(t.Spec.Container.Env, v)
		}
	}
}

// RequestsByAnnotation maps a task to a reconcile request for the object of
// its namespace named by the task's annotation key (the App or Job it belongs
// to); a task without it maps to nothing. Use it with
// handler.EnqueueRequestsFromMapFunc.
func RequestsByAnnotation(key string) func(context.Context, client.Object) []reconcile.Request {
	return func(_ context.Context, obj client.Object) []reconcile.Request {
		name := obj.GetAnnotations()[key]
		if name == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: name}}}
	}
}

// EnqueueByAnnotationAfter is an event handler that enqueues, batch after a
// task changes, the object its annotation key names (EnqueueAfter of
// RequestsByAnnotation).
func EnqueueByAnnotationAfter(key string, batch time.Duration) handler.EventHandler {
	return EnqueueAfter(RequestsByAnnotation(key), batch)
}

// EnqueueAfter is an event handler that enqueues, batch after an object
// changes, the requests requests maps it to. The changes of a burst of
// objects reach each owner as one reconcile: at most one every batch, as the
// queue keeps one waiting request per key. An object that changes owner
// enqueues both.
func EnqueueAfter(requests handler.MapFunc, batch time.Duration) handler.EventHandler {
	enqueue := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request], objs ...client.Object) {
		for _, obj := range objs {
			for _, req := range requests(ctx, obj) {
				q.AddAfter(req, batch)
			}
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.ObjectOld, e.ObjectNew)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object)
		},
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, q, e.Object)
		},
	}
}
