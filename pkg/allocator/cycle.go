package allocator

import (
	"math"

	"meseta.dev/meseta/pkg/resources"
)

// runPhase visits the nodes in order. On each it marks the frameworks that
// filter the node, then walks the fair-share tree for a framework to offer the
// node's free resources to, again and again while a limit left enough for
// another offer.
func (a *allocator) runPhase(phase int, order []int32) {
	a.phase = phase
	for _, n := range order {
		if phase == phaseGuarantee && a.root.unmet == 0 {
			return
		}
		a.visit++
		a.curNode = n
		for k := a.filterStart[n]; k < a.filterStart[n+1]; k++ {
			f := &a.fws[a.filterFw[k]]
			f.filteredAt, f.until = a.visit, a.filterUntil[k]
		}
		st := &a.nodes[n]
		for {
			if _, below := belowFloor(&st.free, &a.root.floor); below || (st.free == [nres]int64{} && len(st.ports) == 0) {
				break
			}
			var ok bool
			if phase == phaseGuarantee {
				ok = a.walkGuarantee(&a.root, st.free, false, 0)
			} else {
				ok = a.walkFair(&a.root, st.free)
			}
			if !ok {
				break
			}
		}
	}
}

// walkFair offers the current node to the first framework under e, in order,
// that may take it, with cap the most the offer may hold. It reports whether
// an offer was made.
func (a *allocator) walkFair(e *entity, cap [nres]int64) bool {
	for i := 0; i < len(e.children); i++ {
		c := e.children[i]
		if c.fw >= 0 {
			if a.tryFramework(c, &cap, 0) {
				reposition(e, i)
				return true
			}
			continue
		}
		ccap := cap
		if r := c.role; r != nil && r.limited != 0 && !a.applyLimit(r, &ccap) {
			continue
		}
		if a.walkFair(c, ccap) {
			reposition(e, i)
			return true
		}
	}
	return false
}

// walkGuarantee is walkFair for the guarantee phase: only frameworks of roles
// below their guarantee (a role's own, or an ancestor's) may take offers, and
// an offer must hold some of a resource that a role on the path lacks. inherited
// says an ancestor is below its guarantee; need has a bit per resource that
// an ancestor lacks.
func (a *allocator) walkGuarantee(e *entity, cap [nres]int64, inherited bool, need uint8) bool {
	for i := 0; i < len(e.children); i++ {
		c := e.children[i]
		if c.fw >= 0 {
			if inherited && a.tryFramework(c, &cap, need) {
				reposition(e, i)
				return true
			}
			continue
		}
		r := c.role
		inh, cneed := inherited, need
		if r != nil && r.unmet {
			inh = true
		}
		if !inh && c.unmet == 0 {
			continue
		}
		ccap := cap
		if r != nil {
			if r.limited != 0 && !a.applyLimit(r, &ccap) {
				continue
			}
			if r.unmet {
				for k := range nres {
					if r.guaranteed&(1<<k) == 0 {
						continue
					}
					lack := subSat(r.guarantee[k], r.ent.consumed[k])
					ccap[k] = min(ccap[k], lack)
					if lack > 0 {
						cneed |= 1 << k
					}
				}
			}
		}
		if a.walkGuarantee(c, ccap, inh, cneed) {
			reposition(e, i)
			return true
		}
	}
	return false
}

// applyLimit cuts cap to what the role's limit leaves. It reports false, and
// records why in the fair phase, when that is below the minimum of every
// framework in the role's subtree.
func (a *allocator) applyLimit(r *roleState, cap *[nres]int64) bool {
	for k := range nres {
		if r.limited&(1<<k) == 0 {
			continue
		}
		h := subSat(r.limit[k], r.ent.consumed[k])
		if h < r.ent.floor[k] {
			a.recordRole(r, resources.Deficit{Name: resources.Name(k), Have: h, Want: r.ent.floor[k]})
			return false
		}
		cap[k] = min(cap[k], h)
	}
	return true
}

// tryFramework offers the current node's resources, up to cap, to the
// framework of entity c, or records why not. In the guarantee phase need is
// non-zero and the offer must hold some of a resource it names.
func (a *allocator) tryFramework(c *entity, cap *[nres]int64, need uint8) bool {
	f := &a.fws[c.fw]
	st := &a.nodes[a.curNode]
	if f.filteredAt == a.visit {
		if l := a.recordPair(f, pairDeclined); l != nil {
			l.until = f.until
		}
		return false
	}
	if st.gpu && !f.gpuOK {
		a.recordPair(f, pairNoGPU)
		return false
	}
	for k := range nres {
		if cap[k] >= f.min[k] {
			continue
		}
		d := resources.Deficit{Name: resources.Name(k), Have: cap[k], Want: f.min[k]}
		if st.free[k] >= f.min[k] {
			// The node has enough; a limit cut it.
			if l := a.recordPair(f, pairLimitReached); l != nil {
				l.deficit, l.role = d, a.bindingRole(f.role, k)
			}
		} else if l := a.recordPair(f, pairBelowMinimum); l != nil {
			l.deficit = d
		}
		return false
	}
	if *cap == [nres]int64{} && len(st.ports) == 0 {
		return false
	}
	if need != 0 {
		helps := false
		for k := range nres {
			helps = helps || (need&(1<<k) != 0 && cap[k] > 0)
		}
		if !helps {
			return false
		}
	}
	a.offer(c, f, st, cap)
	return true
}

// bindingRole returns the role on the path from r up whose limit leaves the
// least of resource k.
func (a *allocator) bindingRole(r *roleState, k int) *roleState {
	var best *roleState
	least := int64(math.MaxInt64)
	for ; r != nil; r = r.parent {
		if r.limited&(1<<k) != 0 {
			if h := subSat(r.limit[k], r.ent.consumed[k]); h < least {
				best, least = r, h
			}
		}
	}
	return best
}

// offer gives cap of the current node, and all its free ports, to framework f
// (entity c): it merges into the framework's offer on the node if this cycle
// made one already, and updates the shares on the path to the root.
func (a *allocator) offer(c *entity, f *fwState, st *nodeState, cap *[nres]int64) {
	amount := *cap
	ports := st.ports
	st.ports = nil
	for k := range nres {
		st.free[k] -= amount[k]
	}
	if o := a.offerOn(st, c.fw); o >= 0 {
		a.offers[o].Resources = a.offers[o].Resources.Add(resources.FromScalars(amount, ports))
	} else {
		node := &a.s.Nodes[a.curNode]
		fw := &a.s.Frameworks[c.fw]
		a.offers = append(a.offers, Offer{
			Framework:      fw.Key,
			FrameworkIndex: int(c.fw),
			Role:           f.role.name,
			Node:           node.Name,
			NodeIndex:      int(a.curNode),
			Resources:      resources.FromScalars(amount, ports),
			Attributes:     node.Attributes,
		})
		a.offerNext = append(a.offerNext, st.firstOffer)
		st.firstOffer = int32(len(a.offers) - 1)
		f.offers++
	}
	for e := c; e != &a.root; e = e.parent {
		for k := range nres {
			e.consumed[k] = addSat(e.consumed[k], amount[k])
		}
		e.share = a.shareOf(&e.consumed, e.invWeight)
		if r := e.role; r != nil && r.unmet && !a.unmet(r) {
			r.unmet = false
			for p := e; p != nil; p = p.parent {
				p.unmet--
			}
		}
	}
}

// offerOn returns the index of framework fw's offer on the node this cycle, or
// -1.
func (a *allocator) offerOn(st *nodeState, fw int32) int {
	for o := st.firstOffer; o >= 0; o = a.offerNext[o] {
		if int32(a.offers[o].FrameworkIndex) == fw {
			return int(o)
		}
	}
	return -1
}

// recordPair counts a skip of the current node for framework f, in the fair
// phase and once per node, and returns the log when this was the first skip
// for that reason (to fill in the details), else nil.
func (a *allocator) recordPair(f *fwState, reason int) *skipLog {
	if a.phase != phaseFair || f.recordedAt == a.visit {
		return nil
	}
	f.recordedAt = a.visit
	if a.offerOn(&a.nodes[a.curNode], f.ent.fw) >= 0 {
		return nil // it got an offer here already
	}
	if l := &f.skips[reason]; l.add(a.curNode) {
		return l
	}
	return nil
}

// recordRole counts a skip of the current node for a role's subtree, as
// recordPair does.
func (a *allocator) recordRole(r *roleState, d resources.Deficit) {
	if a.phase != phaseFair || r.recordedAt == a.visit {
		return
	}
	r.recordedAt = a.visit
	for o := a.nodes[a.curNode].firstOffer; o >= 0; o = a.offerNext[o] {
		for p := a.fws[a.offers[o].FrameworkIndex].role; p != nil; p = p.parent {
			if p == r {
				return // a framework of the subtree got an offer here already
			}
		}
	}
	if r.limitSkip.add(a.curNode) {
		r.limitSkip.deficit, r.limitSkip.role = d, r
	}
}
