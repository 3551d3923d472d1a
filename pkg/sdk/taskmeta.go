package sdk

import (
	"context"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
