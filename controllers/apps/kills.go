package apps

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// killTTL is how long a kill is remembered: long enough for the cache to
// show the task as being deleted.
const killTTL = 30 * time.Second

// killExpectations remembers the tasks the framework killed recently, so that
// a reconcile that reads a cache not yet showing a kill does not count the
// task as a live instance and kill another one below minimumHealthCapacity
// (the expectations of Kubernetes' ReplicaSet controller).
type killExpectations struct {
	mu     sync.Mutex
	killed map[types.UID]time.Time
}

func newKillExpectations() *killExpectations {
	return &killExpectations{killed: map[types.UID]time.Time{}}
}

// expect records that task uid was killed at now.
func (k *killExpectations) expect(uid types.UID, now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.killed[uid] = now
}

// pending reports whether task uid was killed within killTTL of now; it
// forgets older kills.
func (k *killExpectations) pending(uid types.UID, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, at := range k.killed {
		if now.Sub(at) > killTTL {
			delete(k.killed, id)
		}
	}
	_, ok := k.killed[uid]
	return ok
}
