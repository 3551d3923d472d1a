package tasks

import (
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Superseded remembers, for each task, the versions (resourceVersions) that
// the agent's own writes replaced. A reconcile woken by the event of an older
// version reads a cache that has not seen the agent's latest write yet; the
// status it would compute from that copy is already written, and the write,
// made with optimistic locking, could only conflict. Stale tells such a copy
// apart without ordering versions (they are opaque): a copy at a version the
// agent wrote over is stale, and the event of the agent's write brings the
// task back.
//
// A cache never goes back to an older version of an object, so the first copy
// read at any other version is newer than every remembered one, which are then
// forgotten. The zero value is ready to use and safe for concurrent use.
type Superseded struct {
	mu    sync.Mutex
	tasks map[types.NamespacedName]replaced
}

// replaced is what the agent's writes replaced of one task.
type replaced struct {
	uid      types.UID
	versions []string
}

// Replaced records that a write of the agent replaced the version of t it
// was given (t as it was before the write).
func (s *Superseded) Replaced(t *v1alpha1.Task) {
	if t.ResourceVersion == "" {
		return
	}
	key := client.ObjectKeyFromObject(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tasks == nil {
		s.tasks = map[types.NamespacedName]replaced{}
	}
	r := s.tasks[key]
	if r.uid != t.UID {
		r = replaced{uid: t.UID}
	}
	r.versions = append(r.versions, t.ResourceVersion)
	s.tasks[key] = r
}

// Stale reports whether t is a copy at a version the agent's own write
// replaced.
func (s *Superseded) Stale(t *v1alpha1.Task) bool {
	key := client.ObjectKeyFromObject(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.tasks[key]
	switch {
	case !ok:
		return false
	case r.uid == t.UID && slices.Contains(r.versions, t.ResourceVersion):
		return true
	}
	delete(s.tasks, key) // a newer copy, or another task: all remembered is older
	return false
}

// Forget drops what is remembered of the task under key (it is gone).
func (s *Superseded) Forget(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tasks, key)
}

// Len is how many tasks have versions remembered.
func (s *Superseded) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tasks)
}
