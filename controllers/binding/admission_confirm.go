package binding

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

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
		var live v1alpha1.Offer
		err := a.api.Get(ctx, o.Key, &live)
		switch {
		case apierrors.IsNotFound(err):
			return true, nil
		case err != nil:
			return false, err
		case (o.UID != "" && live.UID != o.UID) || live.Status.Phase.IsFinal():
			return true, nil
		}
	}
	for _, t := range tasks {
		var live v1alpha1.Task
		err := a.api.Get(ctx, t.Key, &live)
		switch {
		case apierrors.IsNotFound(err):
			return true, nil
		case err != nil:
			return false, err
		case live.UID != t.UID || live.IsTerminal():
			return true, nil
		}
	}
	return false, nil
}

// patient reports whether a task is young enough to wait for the ledger.
func (a *Admitter) patient(t *v1alpha1.Task) bool {
	return a.opts.Clock.Since(t.CreationTimestamp.Time) < admissionPatience
}
