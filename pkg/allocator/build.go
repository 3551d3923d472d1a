package allocator

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/resources"
)

// indexNodes maps node names to indices (a repeated name is marked and
// ignored), and sets the totals for shares and the global minimum offer.
func (a *allocator) indexNodes() {
	a.nodes = make([]nodeState, len(a.s.Nodes))
	a.nodeIdx = make(map[string]int32, len(a.s.Nodes))
	var total [nres]int64
	for i := range a.s.Nodes {
		n := &a.s.Nodes[i]
		a.nodes[i].firstOffer = -1
		if _, dup := a.nodeIdx[n.Name]; dup {
			a.nodes[i].dup = true
			continue
		}
		a.nodeIdx[n.Name] = int32(i)
		alloc := n.Allocatable.Scalars()
		for r := range nres {
			total[r] = addSat(total[r], alloc[r])
		}
	}
	if !a.s.Total.IsZero() {
		total = a.s.Total.Scalars()
	}
	for r := range nres {
		if total[r] > 0 {
			a.invTotal[r] = 1 / float64(total[r])
		}
	}
	a.globalMin = resources.DefaultMinAllocatable.Scalars()
	if a.s.MinAllocatable != nil {
		a.globalMin = a.s.MinAllocatable.Scalars()
	}
}

// buildRoles records the listed roles' weights, limits and guarantees and
// links each to its parent, creating unlisted ancestors.
func (a *allocator) buildRoles() {
	a.roles = make(map[string]*roleState, len(a.s.Roles))
	for _, r := range a.s.Roles {
		if _, dup := a.roles[r.Name]; dup {
			continue
		}
		rs := &roleState{name: r.Name, weight: r.Weight}
		for i, n := range resources.Names {
			if x, ok := r.Limit.Get(n); ok {
				rs.limited |= 1 << i
				rs.limit[i] = x
			}
			if g := r.Guarantee.Get(n); g > 0 {
				rs.guaranteed |= 1 << i
				rs.guarantee[i] = g
			}
		}
		a.roles[r.Name] = rs
	}
	for _, r := range a.s.Roles {
		a.role(r.Name)
	}
}

// role returns the state of the named role, creating it and its ancestors as
// needed, and links it to its parent.
func (a *allocator) role(name string) *roleState {
	rs, ok := a.roles[name]
	if ok && (rs.parent != nil || !hasParent(name)) {
		return rs
	}
	if !ok {
		rs = &roleState{name: name}
		a.roles[name] = rs
	}
	if p, ok := parentRole(name); ok {
		rs.parent = a.role(p)
	}
	return rs
}

func hasParent(name string) bool {
	_, ok := parentRole(name)
	return ok
}

// parentRole returns the name of the parent of a dot-separated role name.
func parentRole(name string) (string, bool) {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			return name[:i], true
		}
	}
	return "", false
}

// buildFrameworks adds what each framework holds to its role and the role's
// ancestors, and makes a tree entity for each framework that may get offers.
func (a *allocator) buildFrameworks() {
	fs := a.s.Frameworks
	a.fws = make([]fwState, len(fs))
	a.fwIdx = make(map[types.NamespacedName]int32, len(fs))
	ents := make([]entity, len(fs))
	for i := range fs {
		f, st := &fs[i], &a.fws[i]
		if _, dup := a.fwIdx[f.Key]; dup {
			continue // ignored: no entity, no role
		}
		a.fwIdx[f.Key] = int32(i)
		st.role = a.role(f.EffectiveRole())
		st.role.frameworks++
		use := f.Allocated.Scalars()
		for r, x := range f.Offered.Scalars() {
			use[r] = addSat(use[r], x)
		}
		for r := range nres {
			st.role.ownUse[r] = addSat(st.role.ownUse[r], use[r])
		}
		for rs := st.role; rs != nil; rs = rs.parent {
			for r := range nres {
				rs.ent.consumed[r] = addSat(rs.ent.consumed[r], use[r])
			}
		}
		switch {
		case !f.Active:
			st.level = ReasonInactive
			continue
		case f.Suppressed:
			st.level = ReasonSuppressed
			continue
		}
		st.min = a.globalMin
		if f.MinAllocatable != nil {
			st.min = f.MinAllocatable.Scalars()
		}
		st.gpuOK = f.GPUCapable
		e := &ents[i]
		*e = entity{fw: int32(i), invWeight: 1, consumed: use, floor: st.min}
		st.ent = e
		st.role.own = append(st.role.own, e)
		for rs := st.role; rs != nil && !rs.inTree; rs = rs.parent {
			rs.inTree = true
		}
	}
	// Rank frameworks by key, so equal shares are ordered by name.
	idx := make([]int32, 0, len(fs))
	for i := range a.fws {
		if a.fws[i].ent != nil {
			idx = append(idx, int32(i))
		}
	}
	slices.SortFunc(idx, func(x, y int32) int {
		kx, ky := fs[x].Key, fs[y].Key
		return cmp.Or(cmp.Compare(kx.Namespace, ky.Namespace), cmp.Compare(kx.Name, ky.Name))
	})
	for rank, i := range idx {
		a.fws[i].ent.rank = int32(rank)
	}
}

// buildTree links the roles that have frameworks which may get offers into
// the fair-share tree, and sorts it.
func (a *allocator) buildTree() {
	names := make([]string, 0, len(a.roles))
	for name := range a.roles {
		names = append(names, name)
	}
	slices.Sort(names)
	a.root = entity{fw: -1}
	for rank, name := range names {
		rs := a.roles[name]
		rs.rank = int32(rank)
		rs.ent.fw = -1
		rs.unmet = a.unmet(rs)
		if rs.weight <= 0 || math.IsNaN(rs.weight) || math.IsInf(rs.weight, 0) {
			rs.weight = 1
		}
		if !rs.inTree {
			continue
		}
		if rs.parent == nil {
			a.root.children = append(a.root.children, &rs.ent)
		} else {
			rs.parent.childRoles = append(rs.parent.childRoles, rs)
		}
	}
	for _, name := range names {
		rs := a.roles[name]
		if !rs.inTree {
			continue
		}
		e := &rs.ent
		e.fw, e.role, e.rank, e.invWeight = -1, rs, rs.rank, 1/rs.weight
		e.share = a.shareOf(&e.consumed, e.invWeight)
		for _, c := range rs.childRoles {
			e.children = append(e.children, &c.ent)
			c.ent.parent = e
		}
		own := rs.own
		if len(own) > 0 && len(rs.childRoles) > 0 {
			// The role's own frameworks compete with its child roles as one.
			self := &entity{fw: -1, rank: -1, invWeight: 1, consumed: rs.ownUse, parent: e, children: own}
			self.share = a.shareOf(&self.consumed, 1)
			e.children = append(e.children, self)
			for _, c := range own {
				c.parent = self
			}
			continue
		}
		for _, c := range own {
			e.children = append(e.children, c)
			c.parent = e
		}
	}
	for i := range a.fws {
		if e := a.fws[i].ent; e != nil {
			e.share = a.shareOf(&e.consumed, 1)
		}
	}
	for _, c := range a.root.children {
		c.parent = &a.root
	}
	a.sortTree(&a.root)
	if len(a.root.children) == 0 {
		a.root.floor = a.globalMin
	}
}

// unmet reports whether the role holds less than its guarantee of some
// guaranteed resource.
func (a *allocator) unmet(rs *roleState) bool {
	for r := range nres {
		if rs.guaranteed&(1<<r) != 0 && rs.ent.consumed[r] < rs.guarantee[r] {
			return true
		}
	}
	return false
}

func (a *allocator) shareOf(c *[nres]int64, invWeight float64) float64 {
	m := 0.0
	for r := range nres {
		if s := float64(c[r]) * a.invTotal[r]; s > m {
			m = s
		}
	}
	return m * invWeight
}

// prepareNodes computes each node's free resources, or why it is skipped.
func (a *allocator) prepareNodes() {
	floor := a.root.floor
	for i := range a.s.Nodes {
		n, st := &a.s.Nodes[i], &a.nodes[i]
		switch {
		case st.dup:
			continue
		case !n.Ready:
			st.skip = ReasonNodeNotReady
		case n.Unschedulable:
			st.skip = ReasonNodeUnschedulable
		}
		if st.skip != ReasonNone {
			a.nodeSkips = append(a.nodeSkips, nodeSkip{node: int32(i), reason: st.skip})
			continue
		}
		alloc, used, offered := n.Allocatable.Scalars(), n.Allocated.Scalars(), n.Offered.Scalars()
		for r := range nres {
			st.free[r] = subSat(subSat(alloc[r], used[r]), offered[r])
		}
		st.ports = n.Allocatable.Ports.Difference(n.Allocated.Ports).Difference(n.Offered.Ports)
		st.gpu = alloc[resources.Gpus] > 0
		if d, below := belowFloor(&st.free, &floor); below || (st.free == [nres]int64{} && len(st.ports) == 0) {
			st.skip = ReasonBelowMinimum
			a.nodeSkips = append(a.nodeSkips, nodeSkip{node: int32(i), reason: st.skip, deficit: d})
		}
	}
}

// belowFloor reports the first resource of which free has less than floor.
func belowFloor(free, floor *[nres]int64) (resources.Deficit, bool) {
	for r := range nres {
		if free[r] < floor[r] {
			return resources.Deficit{Name: resources.Name(r), Have: free[r], Want: floor[r]}, true
		}
	}
	return resources.Deficit{}, false
}

// indexFilters groups the unexpired filters of frameworks that may get offers
// by node, in two passes (resolve and count, then place) over the filters.
func (a *allocator) indexFilters() {
	a.filterStart = make([]int32, len(a.nodes)+1)
	count := 0
	for i := range a.s.Frameworks {
		if a.fws[i].ent != nil {
			count += len(a.s.Frameworks[i].Filters)
		}
	}
	// filterNode is the node index of each filter in order, -1 when it does not
	// count (expired, unknown or skipped node).
	filterNode := make([]int32, 0, count)
	for i := range a.s.Frameworks {
		if a.fws[i].ent == nil {
			continue
		}
		for _, f := range a.s.Frameworks[i].Filters {
			n := int32(-1)
			if unixNano(f.Until) > a.now {
				if k, ok := a.nodeIdx[f.Node]; ok && a.nodes[k].skip == ReasonNone {
					n = k
					a.filterStart[k+1]++
				}
			}
			filterNode = append(filterNode, n)
		}
	}
	for i := 1; i < len(a.filterStart); i++ {
		a.filterStart[i] += a.filterStart[i-1]
	}
	total := a.filterStart[len(a.nodes)]
	a.filterFw = make([]int32, total)
	a.filterUntil = make([]int64, total)
	next := slices.Clone(a.filterStart[:len(a.nodes)])
	j := 0
	for i := range a.s.Frameworks {
		if a.fws[i].ent == nil {
			continue
		}
		for _, f := range a.s.Frameworks[i].Filters {
			if n := filterNode[j]; n >= 0 {
				k := next[n]
				next[n]++
				a.filterFw[k], a.filterUntil[k] = int32(i), unixNano(f.Until)
			}
			j++
		}
	}
}

// nodeOrder returns the indices of the nodes to visit, shuffled by the seed.
func (a *allocator) nodeOrder() []int32 {
	order := make([]int32, 0, len(a.nodes))
	for i := range a.nodes {
		if a.nodes[i].skip == ReasonNone && !a.nodes[i].dup {
			order = append(order, int32(i))
		}
	}
	rng := rand.New(rand.NewPCG(a.s.Seed, a.s.Seed^0x9e3779b97f4a7c15))
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order
}
