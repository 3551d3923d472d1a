package allocator

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/resources"
)

// Plan is the outcome of one allocation cycle: the offers to make, the shares
// they lead to, and, on demand, why a framework got no offer on a node.
type Plan struct {
	// Offers are the offers to make, in the order they were decided. Each holds
	// one node's resources for one framework; a framework gets at most one offer
	// per node per cycle.
	Offers []Offer
	// Frameworks has one entry per framework of the snapshot, in its order.
	Frameworks []FrameworkResult
	// Roles has one entry per role, listed or used, sorted by name.
	Roles []RoleResult

	s         *Snapshot
	nodes     int // distinct node names
	fws       []fwState
	fwIdx     map[types.NamespacedName]int32
	nodeSkips []nodeSkip
	nodeAgg   [numReasons]skipLog
}

// Offer is one node's resources offered to one framework.
type Offer struct {
	// Framework is the framework's key.
	Framework types.NamespacedName
	// FrameworkIndex is the framework's index in Snapshot.Frameworks.
	FrameworkIndex int
	// Role is the framework's effective role.
	Role string
	// Node is the node's name.
	Node string
	// NodeIndex is the node's index in Snapshot.Nodes.
	NodeIndex int
	// Resources are the offered resources.
	Resources resources.Vector
	// Attributes are the node's attributes, shared with the snapshot: do not
	// modify them.
	Attributes map[string]string
}

// FrameworkResult is what a cycle did for one framework.
type FrameworkResult struct {
	// Framework is the framework's key.
	Framework types.NamespacedName
	// Role is the framework's effective role.
	Role string
	// Share is the framework's dominant share after the cycle: what it holds,
	// allocated plus offered, against the cluster total.
	Share float64
	// Offers is the number of offers the cycle made to it.
	Offers int
}

// RoleResult is a role's state after a cycle.
type RoleResult struct {
	// Name is the role's name.
	Name string
	// Weight is the role's weight in effect.
	Weight float64
	// Share is the role's dominant share after the cycle divided by its weight,
	// children included.
	Share float64
	// Consumed is what the role's subtree holds after the cycle, allocated plus
	// offered; scalars only.
	Consumed resources.Vector
	// Frameworks is the number of frameworks whose role is this one, not
	// counting child roles.
	Frameworks int
	// LimitReached is true when the role's limit, for some resource, leaves less
	// than the snapshot's minimum offer of it (or nothing at all).
	LimitReached bool
	// GuaranteeMet is true when the role has no guarantee or holds all of it.
	GuaranteeMet bool
}

// NodeSkip is a node that no framework was offered, and why.
type NodeSkip struct {
	// Node is the node's name.
	Node string
	// Reason is ReasonNodeNotReady, ReasonNodeUnschedulable or
	// ReasonBelowMinimum.
	Reason Reason
	// Message says it for people, e.g. "free resources below minimum: mem 10Mi < 32Mi".
	Message string
}

func (a *allocator) plan() *Plan {
	p := &Plan{
		Offers:     a.offers,
		Frameworks: make([]FrameworkResult, len(a.s.Frameworks)),
		s:          a.s,
		nodes:      len(a.nodeIdx),
		fws:        a.fws,
		fwIdx:      a.fwIdx,
		nodeSkips:  a.nodeSkips,
	}
	for i := range a.s.Frameworks {
		f, st := &a.s.Frameworks[i], &a.fws[i]
		res := FrameworkResult{Framework: f.Key, Role: f.EffectiveRole(), Offers: int(st.offers)}
		if st.ent != nil {
			res.Share = a.shareOf(&st.ent.consumed, 1)
		} else {
			use := f.Allocated.Add(f.Offered).Scalars()
			res.Share = a.shareOf(&use, 1) // rare: not worth avoiding the port union
		}
		p.Frameworks[i] = res
	}
	p.Roles = make([]RoleResult, 0, len(a.roles))
	for _, rs := range a.roles {
		rr := RoleResult{
			Name:         rs.name,
			Weight:       rs.weight,
			Share:        a.shareOf(&rs.ent.consumed, 1/rs.weight),
			Consumed:     resources.FromScalars(rs.ent.consumed, nil),
			Frameworks:   int(rs.frameworks),
			GuaranteeMet: !a.unmet(rs),
		}
		for k := range nres {
			if rs.limited&(1<<k) != 0 {
				h := subSat(rs.limit[k], rs.ent.consumed[k])
				rr.LimitReached = rr.LimitReached || h == 0 || h < a.globalMin[k]
			}
		}
		p.Roles = append(p.Roles, rr)
	}
	slices.SortFunc(p.Roles, func(x, y RoleResult) int { return strings.Compare(x.Name, y.Name) })
	for _, s := range a.nodeSkips {
		if l := &p.nodeAgg[s.reason]; l.add(s.node) {
			l.deficit = s.deficit
		}
	}
	return p
}

// NodeSkips returns every node that no framework could be offered (not ready,
// cordoned, or with less free than the minimum offer), in snapshot order.
func (p *Plan) NodeSkips() []NodeSkip {
	out := make([]NodeSkip, len(p.nodeSkips))
	for i, s := range p.nodeSkips {
		l := skipLog{deficit: s.deficit}
		out[i] = NodeSkip{Node: p.s.Nodes[s.node].Name, Reason: s.reason, Message: message(s.reason, &l)}
	}
	return out
}
