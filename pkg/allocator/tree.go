package allocator

import (
	"slices"

	"meseta.dev/meseta/pkg/resources"
)

// entity is a node of the fair-share tree: the root, a role, the frameworks of
// a role that also has child roles (a "self group", so that they compete with
// the child roles as one), or a framework (a leaf). Every group keeps its
// children sorted by (share, rank); an offer only raises shares, so after one
// the changed child moves right by a binary search and a copy, never a sort.
type entity struct {
	parent   *entity
	children []*entity
	// share is the dominant share of consumed, divided by the weight.
	share     float64
	invWeight float64
	// rank orders equal shares by name.
	rank int32
	// consumed is what the subtree holds, allocated plus offered, indexed by
	// resources.Name. For a role it counts all its frameworks, also those that
	// get no offers.
	consumed [resources.NumScalars]int64
	// fw is the framework's index in the snapshot, -1 for groups.
	fw int32
	// role is set on a role's entity.
	role *roleState
	// floor is, per resource, the smallest minimum offer of any framework in
	// the subtree: a cap below it in any resource rules out the whole subtree.
	floor [resources.NumScalars]int64
	// unmet counts the roles in the subtree, itself included, whose guarantee
	// is not met.
	unmet int32
}

// less orders entities by share, then by rank.
func less(a, b *entity) bool {
	return a.share < b.share || (a.share == b.share && a.rank < b.rank)
}

// reposition restores the order of e.children after the share of the child at
// index i grew.
func reposition(e *entity, i int) {
	ch := e.children
	c := ch[i]
	// Find the first index k > i whose entity orders after c.
	lo, hi := i+1, len(ch)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if less(c, ch[mid]) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo == i+1 {
		return
	}
	copy(ch[i:lo-1], ch[i+1:lo])
	ch[lo-1] = c
}

// sortTree sorts every group's children, and computes floors and unmet counts,
// bottom up.
func (a *allocator) sortTree(e *entity) {
	if e.fw >= 0 {
		return
	}
	e.floor = [resources.NumScalars]int64{}
	first := true
	e.unmet = 0
	if e.role != nil && e.role.unmet {
		e.unmet = 1
	}
	for _, c := range e.children {
		a.sortTree(c)
		e.unmet += c.unmet
		for i := range resources.NumScalars {
			if first || c.floor[i] < e.floor[i] {
				e.floor[i] = c.floor[i]
			}
		}
		first = false
	}
	sortEntities(e.children)
}

// sortEntities sorts by (share, rank); an insertion sort for short lists.
func sortEntities(es []*entity) {
	if len(es) > 12 {
		sortEntitiesSlow(es)
		return
	}
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && less(es[j], es[j-1]); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

func sortEntitiesSlow(es []*entity) {
	slices.SortFunc(es, func(x, y *entity) int {
		if less(x, y) {
			return -1
		}
		if less(y, x) {
			return 1
		}
		return 0
	})
}
