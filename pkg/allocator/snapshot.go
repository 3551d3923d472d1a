package allocator

import (
	"errors"
	"fmt"
	"math"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/resources"
)

// Snapshot is everything one allocation cycle looks at. Allocate only reads it;
// the Plan it returns refers to it (node names, attributes), so do not modify a
// Snapshot while its Plan is in use.
type Snapshot struct {
	// Now is the time of the cycle: decline filters that end at or before Now are
	// ignored. The zero time is before every other time.
	Now time.Time
	// Seed orders the nodes (a shuffle), so that with limited resources no node
	// is always last. Allocate is deterministic for a given Snapshot and Seed; the
	// caller should change the seed every cycle, for example to a cycle counter.
	Seed uint64
	// Nodes are the machines. Names must be unique; a repeated name is ignored.
	Nodes []Node
	// Roles set the weight, limit and guarantee of roles. A role that frameworks
	// use but that is not listed (nor any role above it) has weight 1, no limit
	// and no guarantee. Names must be unique; a repeated name is ignored.
	Roles []Role
	// Frameworks are the schedulers that may receive offers. Keys must be unique;
	// a repeated key is ignored.
	Frameworks []Framework
	// Total is the cluster's total for dominant shares. When zero it is the sum
	// of the allocatable resources of all Nodes, ready or not.
	Total resources.Vector
	// MinAllocatable is the smallest offer made, unless a framework sets its own;
	// nil means resources.DefaultMinAllocatable (cpus 0.01, mem 32Mi).
	MinAllocatable *resources.Vector
}

// Node is one machine as the allocator sees it.
type Node struct {
	// Name is the Node's name.
	Name string
	// Allocatable is what tasks may use of the node in total.
	Allocatable resources.Vector
	// Allocated is what the tasks bound to the node hold.
	Allocated resources.Vector
	// Offered is what outstanding offers on the node hold.
	Offered resources.Vector
	// Attributes are copied by reference into every offer on the node.
	Attributes map[string]string
	// Ready is true while the node's agent heartbeats; a node that is not ready
	// gets no offers.
	Ready bool
	// Unschedulable is true for a cordoned, draining or maintained node, which gets
	// no offers.
	Unschedulable bool
}

// Free returns what the node has left to offer: allocatable minus allocated
// minus offered, never below zero.
func (n *Node) Free() resources.Vector {
	return n.Allocatable.Sub(n.Allocated).Sub(n.Offered)
}

// Role is a DRF role: a named consumer with a weight, an optional limit and an
// optional guarantee. Roles nest by name: "eng" is the parent of "eng.web"; a
// parent's limit bounds its whole subtree and shares are compared among
// siblings.
type Role struct {
	// Name is the role's dot-separated name.
	Name string
	// Weight scales the role's fair share among its siblings: its dominant share
	// is divided by its weight. Zero, negative or NaN means 1.
	Weight float64
	// Limit bounds what the role's subtree holds, allocated plus offered, per
	// resource; offers are cut to fit. The zero Limits bound nothing.
	Limit resources.Limits
	// Guarantee is offered to the role before roles that already hold their own:
	// while the subtree holds less of some resource named here (a non-zero
	// amount), the role takes part in the guarantee phase of each cycle, where it
	// is offered up to what it lacks of each guaranteed resource. Ports are
	// ignored.
	Guarantee resources.Vector
}

// Framework is a scheduler that receives offers.
type Framework struct {
	// Key is the Framework's namespace and name.
	Key types.NamespacedName
	// Role is the role its resources count against; empty means the namespace.
	Role string
	// Active is true while the framework's Lease is fresh; an inactive framework
	// gets no offers.
	Active bool
	// Suppressed is true when the framework asked for no offers.
	Suppressed bool
	// GPUCapable is true when the framework has the GPUResources capability;
	// without it the framework is not offered nodes that have GPUs.
	GPUCapable bool
	// Allocated is what the framework's non-terminal tasks hold.
	Allocated resources.Vector
	// Offered is what the framework's outstanding offers hold.
	Offered resources.Vector
	// Filters are the framework's decline filters.
	Filters []Filter
	// MinAllocatable, when set, replaces the snapshot's minimum for this
	// framework: an offer must hold at least this much of every resource it names.
	MinAllocatable *resources.Vector
}

// EffectiveRole returns Role, or the namespace when Role is empty.
func (f *Framework) EffectiveRole() string {
	if f.Role != "" {
		return f.Role
	}
	return f.Key.Namespace
}

// Filter keeps a node from being offered to a framework until a time, after the
// framework declined an offer on it.
type Filter struct {
	// Node is the name of the filtered node.
	Node string
	// Until is when the filter ends.
	Until time.Time
}

// Validate reports what Allocate would ignore or repair: repeated names, weights
// that are not positive numbers, and negative amounts.
func (s *Snapshot) Validate() error {
	var errs []error
	nodes := make(map[string]bool, len(s.Nodes))
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if nodes[n.Name] {
			errs = append(errs, fmt.Errorf("nodes[%d]: name %q repeated", i, n.Name))
		}
		nodes[n.Name] = true
		if negative(n.Allocatable) || negative(n.Allocated) || negative(n.Offered) {
			errs = append(errs, fmt.Errorf("nodes[%d]: negative amount", i))
		}
	}
	roles := make(map[string]bool, len(s.Roles))
	for i, r := range s.Roles {
		if roles[r.Name] {
			errs = append(errs, fmt.Errorf("roles[%d]: name %q repeated", i, r.Name))
		}
		roles[r.Name] = true
		if r.Weight < 0 || math.IsNaN(r.Weight) || math.IsInf(r.Weight, 0) {
			errs = append(errs, fmt.Errorf("roles[%d].weight: %v is not a positive number", i, r.Weight))
		}
	}
	fws := make(map[types.NamespacedName]bool, len(s.Frameworks))
	for i := range s.Frameworks {
		f := &s.Frameworks[i]
		if fws[f.Key] {
			errs = append(errs, fmt.Errorf("frameworks[%d]: key %s repeated", i, f.Key))
		}
		fws[f.Key] = true
		if negative(f.Allocated) || negative(f.Offered) {
			errs = append(errs, fmt.Errorf("frameworks[%d]: negative amount", i))
		}
	}
	return errors.Join(errs...)
}

func negative(v resources.Vector) bool {
	for _, x := range v.Scalars() {
		if x < 0 {
			return true
		}
	}
	return false
}
