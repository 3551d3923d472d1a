package simulate

import (
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// store holds the containers of the fleet's tasks by task key, each with the
// UID of the task it belongs to (a task re-created under the same name gets a
// new container). The controller reconciles different keys concurrently.
type store struct {
	mu    sync.Mutex
	byKey map[types.NamespacedName]entry
}

type entry struct {
	uid types.UID
	c   *container
}

func newStore() *store { return &store{byKey: map[types.NamespacedName]entry{}} }

// get returns the container of the task key with uid, nil when there is none.
func (s *store) get(key types.NamespacedName, uid types.UID) *container {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byKey[key]; ok && e.uid == uid {
		return e.c
	}
	return nil
}

// put records the container of the task key with uid, replacing the one of
// an older task of the same name.
func (s *store) put(key types.NamespacedName, uid types.UID, c *container) {
	s.mu.Lock()
	s.byKey[key] = entry{uid: uid, c: c}
	s.mu.Unlock()
}

// forget drops the container of the task key.
func (s *store) forget(key types.NamespacedName) {
	s.mu.Lock()
	delete(s.byKey, key)
	s.mu.Unlock()
}

// len returns how many containers the store holds.
func (s *store) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byKey)
}
