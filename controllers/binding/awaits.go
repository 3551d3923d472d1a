package binding

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

// AwaitsBinding says whether a task of framework that waits to be bound names
// offer, as the manager's cache (indexed by Add) sees it. Such an offer was
// accepted by the framework before it went away or suppressed its offers: the
// binder, not a rescind, decides what becomes of it.
func AwaitsBinding(ctx context.Context, cache client.Reader, offer, framework types.NamespacedName) (bool, error) {
	var list v1alpha1.TaskList
	err := cache.List(ctx, &list, client.InNamespace(offer.Namespace),
		client.MatchingFields{pendingOffersIndex: offer.Name}, client.UnsafeDisableDeepCopy)
	if err != nil {
		return false, fmt.Errorf("failed to list the tasks on offer %s: %w", offer, err)
	}
	for i := range list.Items {
		if t := &list.Items[i]; pending(t) && t.Spec.Framework == framework.Name && t.Namespace == framework.Namespace {
			return true, nil
		}
	}
	return false, nil
}
