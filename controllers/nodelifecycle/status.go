package nodelifecycle

import (
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

// ReadyCondition returns the Ready condition the master sets given the node's
// liveness, and false when the agent's own condition (cur) stands: an alive
// node's Ready belongs to its agent, unless it is still the one the master set
// while the node was unreachable or gone, which the master then sets True
// again until the agent writes its own.
func ReadyCondition(cur *metav1.Condition, l Liveness, lastSeen time.Time, o Options) (metav1.Condition, bool) {
	c := metav1.Condition{Type: v1alpha1.NodeReadyCondition}
	switch l {
	case Unreachable:
		c.Status, c.Reason = metav1.ConditionUnknown, v1alpha1.NodeAgentUnreachableReason
		c.Message = fmt.Sprintf("No renewal of the agent's Lease seen since %s, longer than the node timeout of %s",
			lastSeen.UTC().Format(time.RFC3339), o.NodeTimeout)
		return c, true
	case Gone:
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.NodeAgentGoneReason
		c.Message = fmt.Sprintf("No renewal of the agent's Lease seen since %s; the node stayed unreachable for %s more and its tasks are gone",
			lastSeen.UTC().Format(time.RFC3339), o.GoneTimeout)
		return c, true
	}
	if cur != nil && (cur.Reason == v1alpha1.NodeAgentUnreachableReason || cur.Reason == v1alpha1.NodeAgentGoneReason) {
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.NodeAgentReconnectedReason
		c.Message = "The agent renews its Lease again"
		return c, true
	}
	return metav1.Condition{}, false
}

// DrainedCondition returns the Drained condition of a node with remaining
// non-terminal tasks, and false when the node is not being drained (the
// condition is then removed).
func DrainedCondition(draining bool, remaining int) (metav1.Condition, bool) {
	if !draining {
		return metav1.Condition{}, false
	}
	c := metav1.Condition{Type: v1alpha1.NodeDrainedCondition}
	if remaining > 0 {
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.NodeDrainingReason
		c.Message = fmt.Sprintf("%d %s left on the node", remaining, plural(remaining, "task is", "tasks are"))
		return c, true
	}
	c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.NodeDrainCompleteReason
	c.Message = "No task is left on the node"
	return c, true
}

// Phase derives a node's phase: Gone and Unreachable from its liveness; while
// spec.drain is set, Draining until no non-terminal task is left and Drained
// after; otherwise Ready or NotReady from the Ready condition, and Pending
// while the agent has not reported one.
func Phase(l Liveness, ready *metav1.Condition, draining bool, remaining int) v1alpha1.NodePhase {
	switch {
	case l == Gone:
		return v1alpha1.NodeGone
	case l == Unreachable:
		return v1alpha1.NodeUnreachable
	case draining && remaining > 0:
		return v1alpha1.NodeDraining
	case draining:
		return v1alpha1.NodeDrained
	case ready == nil:
		return v1alpha1.NodePending
	case ready.Status == metav1.ConditionTrue:
		return v1alpha1.NodeReady
	}
	return v1alpha1.NodeNotReady
}

// setCondition returns conds with c set at now: a condition whose status does
// not change keeps its lastTransitionTime. conds is not modified.
func setCondition(conds []metav1.Condition, c metav1.Condition, now time.Time) []metav1.Condition {
	out := slices.Clone(conds)
	c.LastTransitionTime = metav1.NewTime(now)
	meta.SetStatusCondition(&out, c)
	return out
}

// removeCondition returns conds without the condition of type t.
func removeCondition(conds []metav1.Condition, t string) []metav1.Condition {
	return slices.DeleteFunc(slices.Clone(conds), func(c metav1.Condition) bool { return c.Type == t })
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
