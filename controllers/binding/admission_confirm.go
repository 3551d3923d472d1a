package binding

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Before it refuses a task for want of room, the Admitter confirms that the
// ledger's view of the node is current: the ledger learns that an offer was
// rescinded or a task ended a moment after the API says so, and a task
// placed in that moment would be refused for resources already free.

// retryBehindLedger is how soon a task is judged again when the ledger still
// counts something the API says is gone.
const retryBehindLedger = 100 * time.Millisecond

// admissionPatience bounds how long after its creation a task waits for the
// ledger to catch up; past it the ledger's view is final.
const admissionPatience = 30 * time.Second

// ledgerBehind reports whether the ledger counts on the node an offer or a
// task that the API server says no longer holds anything there, or an offer
// an acceptance is still deciding.
func (a *Admitter) ledgerBehind(ctx context.Context, node string) (bool, error) {
	offers, tasks := a.ledger.Holders(node)
	for _, o := range offers {
		if o.Claimed {
			return true, nil
		}
		over, err := endedInAPI(ctx, a.api, o.Key, o.UID, &v1alpha1.Offer{},
			func(o *v1alpha1.Offer) bool { return o.Status.Phase.IsFinal() })
		if over || err != nil {
			return over, err
		}
	}
	for _, t := range tasks {
		over, err := endedInAPI(ctx, a.api, t.Key, t.UID, &v1alpha1.Task{}, (*v1alpha1.Task).IsTerminal)
		if over || err != nil {
			return over, err
		}
	}
	return false, nil
}

// endedInAPI reports whether the API server says the object the ledger
// records under key with uid is over: gone, replaced by another of the same
// name (uid, when known, differs) or ended.
func endedInAPI[T client.Object](ctx context.Context, api client.Reader, key types.NamespacedName, uid types.UID, obj T, ended func(T) bool) (bool, error) {
	err := api.Get(ctx, key, obj)
	switch {
	case apierrors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, err
	}
	return (uid != "" && obj.GetUID() != uid) || ended(obj), nil
}

// patient reports whether a task is young enough to wait for the ledger.
func (a *Admitter) patient(t *v1alpha1.Task) bool {
	return a.opts.Clock.Since(t.CreationTimestamp.Time) < admissionPatience
}
