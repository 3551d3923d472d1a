package binding

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/apis/v1alpha1"
)

// decidedTTL is how long the binder remembers the tasks it bound or dropped,
// longer than its cache can lag behind its own writes.
const decidedTTL = 2 * time.Minute

// exclusive makes the binder's decisions about a task exclusive within the
// process: a reconcile decides only about tasks it holds, and never again
// about a task it bound or dropped a moment ago (its cache may still show the
// task waiting). Across processes the tasks' resourceVersion preconditions do
// the same.
type exclusive struct {
	mu      sync.Mutex
	held    map[types.UID]struct{}
	decided map[types.UID]time.Time
	pruned  time.Time
}

// tryHold holds every task, or none when another reconcile holds one.
func (x *exclusive) tryHold(tasks []*v1alpha1.Task) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.held == nil {
		x.held = map[types.UID]struct{}{}
	}
	for _, t := range tasks {
		if _, busy := x.held[t.UID]; busy {
			return false
		}
	}
	for _, t := range tasks {
		x.held[t.UID] = struct{}{}
	}
	return true
}

func (x *exclusive) release(tasks []*v1alpha1.Task) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, t := range tasks {
		delete(x.held, t.UID)
	}
}

// markDecided remembers that a task was bound or dropped.
func (x *exclusive) markDecided(uid types.UID, now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.decided == nil {
		x.decided = map[types.UID]time.Time{}
	}
	x.decided[uid] = now
	if now.Sub(x.pruned) > decidedTTL {
		for k, at := range x.decided {
			if now.Sub(at) > decidedTTL {
				delete(x.decided, k)
			}
		}
		x.pruned = now
	}
}

// undecided returns the tasks not bound or dropped lately.
func (x *exclusive) undecided(tasks []*v1alpha1.Task) []*v1alpha1.Task {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := tasks[:0:0]
	for _, t := range tasks {
		if _, done := x.decided[t.UID]; !done {
			out = append(out, t)
		}
	}
	return out
}
