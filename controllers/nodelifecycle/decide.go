package nodelifecycle

import (
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Input is what the controller knows of one node.
type Input struct {
	// Name is the node's name.
	Name string
	// Node is the Node, nil when it was removed.
	Node *v1alpha1.Node
	// Lease is the agent's Lease, nil when it is missing.
	Lease *coordinationv1.Lease
	// Tasks are the tasks bound to the node, in any state; read only (the
	// controller passes the cache's own).
	Tasks []v1alpha1.Task
	// Now is the time of the decision; Since is when the controller started
	// watching (see LastSeen).
	Now, Since time.Time
}

// Decision is what the controller does to one node and its tasks.
type Decision struct {
	// Liveness is the node's liveness and LastSeen when it was last seen.
	Liveness Liveness
	LastSeen time.Time
	// Phase and Conditions are the node's status.phase and status.conditions
	// (the other conditions are kept); unused when the node was removed.
	Phase      v1alpha1.NodePhase
	Conditions []metav1.Condition
	// Tasks are the actions on the node's tasks.
	Tasks []TaskAction
	// Remaining is how many of its tasks are not terminal after the actions.
	Remaining int
	// RequeueAfter is when to look at the node again if nothing happens, zero
	// for never.
	RequeueAfter time.Duration
}

// Decide returns what becomes of a node and its tasks at in.Now. A removed
// node is gone at once.
//
// The node timeout is the node's own (NodeTimeoutOf its Lease): an agent that
// renews at a stretched pace is waited for as much longer.
func Decide(in Input, o Options) Decision {
	o = o.complete()
	o.NodeTimeout = NodeTimeoutOf(in.Lease, o.NodeTimeout)
	d := Decision{LastSeen: LastSeen(in.Node, in.Lease, in.Since)}
	var next time.Time
	if in.Node == nil {
		d.Liveness = Gone
	} else {
		d.Liveness, next = Assess(d.LastSeen, in.Now, o)
	}
	draining := in.Node != nil && in.Node.Spec.Drain != nil
	message := taskMessage(in.Name, in.Node == nil, d.Liveness, d.LastSeen, o)
	d.Remaining = remaining(in.Tasks)
	for i := range in.Tasks {
		a, ok := TaskActionFor(&in.Tasks[i], d.Liveness, draining, message)
		if !ok {
			continue
		}
		d.Tasks = append(d.Tasks, a)
		if a.State.IsTerminal() {
			d.Remaining--
		}
	}
	if !next.IsZero() {
		d.RequeueAfter = next.Sub(in.Now)
	}
	if in.Node == nil {
		return d
	}
	d.Conditions = in.Node.Status.Conditions
	cur := meta.FindStatusCondition(d.Conditions, v1alpha1.NodeReadyCondition)
	if c, ok := ReadyCondition(cur, d.Liveness, d.LastSeen, o); ok {
		d.Conditions = setCondition(d.Conditions, c, in.Now)
	}
	if c, ok := DrainedCondition(draining, d.Remaining); ok {
		d.Conditions = setCondition(d.Conditions, c, in.Now)
	} else {
		d.Conditions = removeCondition(d.Conditions, v1alpha1.NodeDrainedCondition)
	}
	ready := meta.FindStatusCondition(d.Conditions, v1alpha1.NodeReadyCondition)
	d.Phase = Phase(d.Liveness, ready, draining, d.Remaining)
	return d
}

// taskMessage is the message of the states the controller writes for the
// tasks of a node.
func taskMessage(node string, removed bool, l Liveness, lastSeen time.Time, o Options) string {
	seen := lastSeen.UTC().Format(time.RFC3339)
	switch {
	case removed:
		return fmt.Sprintf("Node %s was removed", node)
	case l == Unreachable:
		return fmt.Sprintf("Node %s is unreachable: no heartbeat since %s (node timeout %s)", node, seen, o.NodeTimeout)
	case l == Gone:
		return fmt.Sprintf("Node %s is gone: no heartbeat since %s (node timeout %s, gone timeout %s)", node, seen, o.NodeTimeout, o.GoneTimeout)
	}
	return ""
}
