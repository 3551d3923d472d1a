package binding

import (
	"context"
	"fmt"
	"strings"
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
	var stuck stuckTasks
	defer func() { stuck.log(ctx) }()
	for i := range list.Items {
		t := &list.Items[i]
		if !pending(t) {
			continue
		}
		if waited := now.Sub(s.b.firstSeen(t)); waited > stuckAfter {
			stuck.add(t, waited)
		}
		select {
		case s.events <- event.TypedGenericEvent[*v1alpha1.Task]{Object: t}:
		case <-ctx.Done():
			return
		}
	}
}

// stuckTasks gathers, over one sweep, the tasks that waited longer than
// stuckAfter to be bound, for one log line: under load a launch's tasks
// arrive slowly and thousands may wait at once.
type stuckTasks struct {
	count   int
	longest time.Duration
	first   []string // "namespace/name on offers", the first few
}

func (s *stuckTasks) add(t *v1alpha1.Task, waited time.Duration) {
	const most = 5
	s.count++
	s.longest = max(s.longest, waited)
	if len(s.first) < most {
		s.first = append(s.first, fmt.Sprintf("%s/%s on %s", t.Namespace, t.Name, strings.Join(t.Spec.Offers, ",")))
	}
}

func (s *stuckTasks) log(ctx context.Context) {
	if s.count == 0 {
		return
	}
	log.FromContext(ctx).Info("Tasks still waiting to be bound; deciding them again",
		"tasks", s.count, "longestWait", s.longest.Round(time.Second), "first", s.first)
}
