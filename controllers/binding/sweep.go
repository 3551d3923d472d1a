package binding

import (
	"context"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
)

// stuckAfter is how long a task may wait to be bound before the sweep
// reports it; a decision normally takes well under MaxBatchWait.
const stuckAfter = 10 * time.Second

// sweeper re-offers to the binder, every SweepInterval, each task that still
// waits to be bound: the binder is level-based, so a task whose event or
// requeue was lost (a watch restart, a crash between two writes) is decided
// all the same.
type sweeper struct {
	b      *Binder
	events chan event.TypedGenericEvent[*v1alpha1.Task]
}

// Start runs the sweep until ctx ends; it is a manager Runnable that needs
// leader election, like the binder.
func (s *sweeper) Start(ctx context.Context) error {
	t := time.NewTicker(s.b.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.sweep(ctx)
		}
	}
}

func (s *sweeper) sweep(ctx context.Context) {
	var list v1alpha1.TaskList
	if err := s.b.cache.List(ctx, &list, client.MatchingFields{pendingIndex: pendingValue}, client.UnsafeDisableDeepCopy); err != nil {
		return
	}
	now := s.b.opts.Clock.Now()
	for i := range list.Items {
		t := &list.Items[i]
		if !pending(t) {
			continue
		}
		if waited := now.Sub(s.b.firstSeen(t)); waited > stuckAfter {
			log.FromContext(ctx).Info("Task still waiting to be bound; deciding it again",
				"task", client.ObjectKeyFromObject(t), "offers", t.Spec.Offers, "waited", waited.Round(time.Second))
		}
		select {
		case s.events <- event.TypedGenericEvent[*v1alpha1.Task]{Object: t}:
		case <-ctx.Done():
			return
		}
	}
}
