package offers

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/allocator"
)

// DefaultRefuseSeconds is how long a declined node is filtered when the
// decline does not say (and when an offer is deleted), as in Mesos.
const DefaultRefuseSeconds = 5

// filters are the decline filters: per framework, the nodes it declined and
// until when it is not offered them. Filters are soft state: a new leader
// starts without any, as a Mesos master does after failover. Safe for
// concurrent use.
type filters struct {
	mu sync.Mutex
	m  map[types.NamespacedName]map[string]time.Time
}

func newFilters() *filters {
	return &filters{m: map[types.NamespacedName]map[string]time.Time{}}
}

// add filters node for fw until until; a longer filter already in place
// stays.
func (f *filters) add(fw types.NamespacedName, node string, until time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	byNode := f.m[fw]
	if byNode == nil {
		byNode = map[string]time.Time{}
		f.m[fw] = byNode
	}
	if old, ok := byNode[node]; !ok || old.Before(until) {
		byNode[node] = until
	}
}

// clear removes every filter of fw (revive).
func (f *filters) clear(fw types.NamespacedName) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, fw)
}

// active returns fw's filters that end after now, and forgets the others.
func (f *filters) active(fw types.NamespacedName, now time.Time) []allocator.Filter {
	f.mu.Lock()
	defer f.mu.Unlock()
	byNode := f.m[fw]
	if len(byNode) == 0 {
		return nil
	}
	out := make([]allocator.Filter, 0, len(byNode))
	for node, until := range byNode {
		if !until.After(now) {
			delete(byNode, node)
			continue
		}
		out = append(out, allocator.Filter{Node: node, Until: until})
	}
	if len(byNode) == 0 {
		delete(f.m, fw)
	}
	return out
}

// refuseUntil returns when a decline with refuseSeconds (nil: the default)
// made at now ends.
func refuseUntil(now time.Time, refuseSeconds *int32) time.Time {
	s := int32(DefaultRefuseSeconds)
	if refuseSeconds != nil {
		s = max(*refuseSeconds, 0)
	}
	return now.Add(time.Duration(s) * time.Second)
}
