package apps

import (
	"k8s.io/utils/ptr"

	"meseta.dev/meseta/apis/v1alpha1"
)

// capacity is what an App's upgrade strategy allows while it replaces or
// scales its tasks, in tasks (Marathon's semantics).
type capacity struct {
	// required is ceil(instances * minimumHealthCapacity / 100): the healthy
	// instances, old and new, the App is Available with.
	required int32
	// minHealthy is the fewest healthy instances, old and new, a kill may
	// leave: required, except when the strategy allows no progress at all
	// (minimumHealthCapacity 100 and maximumOverCapacity 0), where one old
	// instance at a time is replaced.
	minHealthy int32
	// maxTotal is instances + floor(instances * maximumOverCapacity / 100): the
	// most tasks, old and new, being killed included, that may exist at once.
	maxTotal int32
}

// capacityOf returns the capacity of an App of instances under strategy s
// (nil: the defaults, 100 and 100).
func capacityOf(instances int32, s *v1alpha1.UpgradeStrategy) capacity {
	minPct, maxPct := int64(100), int64(100)
	if s != nil {
		minPct = int64(min(100, max(0, ptr.Deref(s.MinimumHealthCapacity, 100))))
		maxPct = int64(min(100, max(0, ptr.Deref(s.MaximumOverCapacity, 100))))
	}
	n := int64(max(0, instances))
	c := capacity{
		required: int32((n*minPct + 99) / 100),
		maxTotal: int32(n + n*maxPct/100),
	}
	c.minHealthy = c.required
	if n > 0 && c.minHealthy >= int32(n) && c.maxTotal <= int32(n) {
		c.minHealthy = int32(n) - 1
	}
	return c
}
