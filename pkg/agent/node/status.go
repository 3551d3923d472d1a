package node

import (
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Facts are what the agent reports of its node.
type Facts struct {
	// Capacity and Allocatable are the node's resources.
	Capacity, Allocatable v1alpha1.Resources
	// Attributes are the agent's --attributes.
	Attributes map[string]string
	// Hostname is the machine's host name.
	Hostname string
	// Address is where the node's tasks and the agent's endpoint are reached.
	Address string
	// DaemonPort and DaemonCABundle describe the agent's HTTPS endpoint.
	DaemonPort     int32
	DaemonCABundle string
	// AgentVersion is the agent's version.
	AgentVersion string
	// Runtime names the OCI runtime and its version.
	Runtime string
	// Problem, when not empty, says why the node cannot run tasks: the Ready
	// condition is then False.
	Problem string
}

// DesiredStatus returns the part of a node's status the agent owns, given the
// node's current status: every field of facts, lastHeartbeatTime now, and the
// Ready condition (True with reason AgentReady, or False with AgentNotReady and
// the problem), keeping its lastTransitionTime while its status is unchanged.
// Phase, allocated, offered and the other conditions belong to the master and
// are left out.
func DesiredStatus(f Facts, cur v1alpha1.NodeStatus, now time.Time) v1alpha1.NodeStatus {
	ready := metav1.Condition{
		Type: v1alpha1.NodeReadyCondition, Status: metav1.ConditionTrue, Reason: v1alpha1.NodeAgentReadyReason,
		Message: "The agent heartbeats and its runtime works", LastTransitionTime: metav1.Time{Time: now},
	}
	if f.Problem != "" {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, v1alpha1.NodeAgentNotReadyReason, f.Problem
	}
	if old := meta.FindStatusCondition(cur.Conditions, v1alpha1.NodeReadyCondition); old != nil && old.Status == ready.Status {
		ready.LastTransitionTime = old.LastTransitionTime
	}
	return v1alpha1.NodeStatus{
		Capacity: f.Capacity, Allocatable: f.Allocatable, Attributes: f.Attributes,
		Hostname: f.Hostname, Address: f.Address, DaemonPort: f.DaemonPort, DaemonCABundle: f.DaemonCABundle,
		AgentVersion: f.AgentVersion, Runtime: f.Runtime,
		LastHeartbeatTime: &metav1.Time{Time: now},
		Conditions:        []metav1.Condition{ready},
	}
}

// NeedsUpdate reports whether the node's current status differs from desired in
// a field the agent owns, or its last heartbeat is older than maxAge.
func NeedsUpdate(cur, desired v1alpha1.NodeStatus, now time.Time, maxAge time.Duration) bool {
	if cur.LastHeartbeatTime == nil || now.Sub(cur.LastHeartbeatTime.Time) >= maxAge {
		return true
	}
	old := meta.FindStatusCondition(cur.Conditions, v1alpha1.NodeReadyCondition)
	want := desired.Conditions[0]
	if old == nil || old.Status != want.Status || old.Reason != want.Reason || old.Message != want.Message {
		return true
	}
	owned := func(s v1alpha1.NodeStatus) v1alpha1.NodeStatus {
		return v1alpha1.NodeStatus{
			Capacity: s.Capacity, Allocatable: s.Allocatable, Attributes: s.Attributes, Hostname: s.Hostname,
			Address: s.Address, DaemonPort: s.DaemonPort, DaemonCABundle: s.DaemonCABundle,
			AgentVersion: s.AgentVersion, Runtime: s.Runtime,
		}
	}
	a, b := owned(cur), owned(desired)
	if len(a.Attributes) == 0 && len(b.Attributes) == 0 {
		a.Attributes, b.Attributes = nil, nil
	}
	return !equality.Semantic.DeepEqual(a, b)
}
