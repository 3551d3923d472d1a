package nodelifecycle

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Liveness is what the master concludes of a node's agent from its Lease.
type Liveness int

// Liveness values, in the order a silent node goes through them.
const (
	// Alive is a node whose Lease was renewed within the node timeout.
	Alive Liveness = iota
	// Unreachable is a node whose Lease was not renewed within the node
	// timeout; its tasks may still run and come back.
	Unreachable
	// Gone is a node that stayed unreachable for the gone timeout, or whose
	// Node object was removed; its tasks will not come back.
	Gone
)

func (l Liveness) String() string {
	switch l {
	case Alive:
		return "Alive"
	case Unreachable:
		return "Unreachable"
	case Gone:
		return "Gone"
	}
	return "Liveness(?)"
}

// LastSeen returns when the node's agent was last known to be alive: the
// latest of the Lease's renewTime (its acquireTime or creation when it was
// never renewed), the Node's creation, and since, the time the controller
// started watching. Counting from since gives every node a full timeout after
// a master starts or fails over, since no agent could heartbeat to a master
// that was down.
func LastSeen(node *v1alpha1.Node, lease *coordinationv1.Lease, since time.Time) time.Time {
	seen := since
	if node != nil && node.CreationTimestamp.After(seen) {
		seen = node.CreationTimestamp.Time
	}
	if t := leaseRenewed(lease); t.After(seen) {
		seen = t
	}
	return seen
}

// leaseRenewed returns when a Lease was last renewed, zero for nil.
func leaseRenewed(l *coordinationv1.Lease) time.Time {
	switch {
	case l == nil:
		return time.Time{}
	case l.Spec.RenewTime != nil:
		return l.Spec.RenewTime.Time
	case l.Spec.AcquireTime != nil:
		return l.Spec.AcquireTime.Time
	}
	return l.CreationTimestamp.Time
}

// Assess returns a node's liveness at now given when it was last seen, and
// when its liveness changes next if it stays silent (zero once it is Gone).
func Assess(lastSeen, now time.Time, o Options) (Liveness, time.Time) {
	unreachableAt := lastSeen.Add(o.NodeTimeout)
	goneAt := unreachableAt.Add(o.GoneTimeout)
	switch {
	case now.Before(unreachableAt):
		return Alive, unreachableAt
	case now.Before(goneAt):
		return Unreachable, goneAt
	}
	return Gone, time.Time{}
}
