package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodePhase is a summary of a node's state, derived from its conditions and spec.
// +kubebuilder:validation:Enum=Pending;Ready;NotReady;Unreachable;Draining;Drained;Gone
type NodePhase string

// Node phases.
const (
	// NodePending is a node whose agent registered but has not reported ready yet.
	NodePending NodePhase = "Pending"
	// NodeReady is a node that heartbeats and can run tasks.
	NodeReady NodePhase = "Ready"
	// NodeNotReady is a node whose agent heartbeats but cannot run tasks.
	NodeNotReady NodePhase = "NotReady"
	// NodeUnreachable is a node whose agent missed its heartbeats for longer than
	// the master's --node-timeout; its tasks are Unreachable.
	NodeUnreachable NodePhase = "Unreachable"
	// NodeDraining is a node being drained (spec.drain is set).
	NodeDraining NodePhase = "Draining"
	// NodeDrained is a drained node: no offers, no tasks.
	NodeDrained NodePhase = "Drained"
	// NodeGone is a node that stayed unreachable so long that its tasks were
	// declared Gone.
	NodeGone NodePhase = "Gone"
)

// NodeSpec is what operators want of a node: whether it takes new work, whether
// it is being emptied, when it is due for maintenance, and extra attributes.
type NodeSpec struct {
	// unschedulable cordons the node: while true, the master makes no new offers on
	// it and rescinds its outstanding offers. Tasks already running keep running.
	// `mesetactl cordon` sets it, `mesetactl uncordon` clears it.
	// +optional
	Unschedulable bool `json:"unschedulable,omitempty"`

	// drain, when set, empties the node: no new offers are made on it, its
	// outstanding offers are rescinded and its tasks are killed, each given the
	// smaller of its own killGracePeriod and drain.gracePeriod. The Drained
	// condition turns True when nothing is left. Removing drain (uncordon) ends it.
	// +optional
	Drain *NodeDrain `json:"drain,omitempty"`

	// maintenance schedules a maintenance window. From its start until its end the
	// node is treated as unschedulable; offers that would outlast the start are not
	// made. Tasks are not killed unless drain is set as well.
	// +optional
	Maintenance *MaintenanceWindow `json:"maintenance,omitempty"`

	// attributes are operator-set attributes of the node, merged over the
	// attributes its agent reports (status.attributes): on a key present in both,
	// this one wins. Offers carry the merged set; App constraints match on it.
	// Keys are at most 63 characters of letters, digits and "-", "_", ".", "/",
	// beginning and ending with a letter or digit; values at most 256 characters.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() <= 63 && k.matches('^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$') && self[k].size() <= 256)",message="attribute keys must be at most 63 letters, digits, '-', '_', '.' or '/', beginning and ending with a letter or digit, and values at most 256 characters"
	Attributes map[string]string `json:"attributes,omitempty"`
}

// NodeDrain asks for a node to be emptied.
type NodeDrain struct {
	// gracePeriod caps the kill grace period of the node's tasks during the drain:
	// each task gets the smaller of its own killGracePeriod and this. When unset,
	// each task gets its own killGracePeriod.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+)$`
	GracePeriod *metav1.Duration `json:"gracePeriod,omitempty"`

	// requestedAt is when the drain was requested; `mesetactl drain` sets it.
	// +optional
	RequestedAt *metav1.Time `json:"requestedAt,omitempty"`
}

// MaintenanceWindow is a span of time during which a node is unavailable.
// +kubebuilder:validation:XValidation:rule="!has(self.start) || !has(self.end) || self.end > self.start",message="end must be after start",fieldPath=".end"
type MaintenanceWindow struct {
	// start is when the maintenance begins.
	// +required
	Start metav1.Time `json:"start"`

	// end is when the maintenance is expected to end. When unset, the window is
	// open-ended: the node stays unavailable until maintenance is removed.
	// +optional
	End *metav1.Time `json:"end,omitempty"`
}

// NodeStatus is what the node's agent and the master observe of a node.
type NodeStatus struct {
	// phase summarizes the node's state: Pending, Ready, NotReady, Unreachable,
	// Draining, Drained or Gone. It is derived from the conditions and the spec.
	// +optional
	Phase NodePhase `json:"phase,omitempty"`

	// capacity is everything the machine has, as the agent detected it or was told
	// with --resources.
	// +optional
	Capacity Resources `json:"capacity,omitzero"`

	// allocatable is the part of capacity that tasks may use; offers are carved out
	// of it.
	// +optional
	Allocatable Resources `json:"allocatable,omitzero"`

	// allocated is the sum of the resources of the tasks bound to the node that
	// have not reached a terminal state. Written by the master.
	// +optional
	Allocated Resources `json:"allocated,omitzero"`

	// offered is the sum of the node's outstanding offers. Written by the master.
	// allocated plus offered never exceeds allocatable.
	// +optional
	Offered Resources `json:"offered,omitzero"`

	// attributes are the attributes the agent reports (from its --attributes flag),
	// such as rack or zone. spec.attributes overrides them.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() <= 63 && k.matches('^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$') && self[k].size() <= 256)",message="attribute keys must be at most 63 letters, digits, '-', '_', '.' or '/', beginning and ending with a letter or digit, and values at most 256 characters"
	Attributes map[string]string `json:"attributes,omitempty"`

	// hostname is the machine's host name, which App constraints match as the
	// field "hostname".
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Hostname string `json:"hostname,omitempty"`

	// address is the IP address or DNS name at which the node's tasks can be
	// reached.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Address string `json:"address,omitempty"`

	// daemonPort is the port of the agent's HTTPS endpoint on address, which
	// serves the sandbox files (logs) of the node's tasks to clients the API
	// server authenticates and authorizes (`mesetactl logs`).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	DaemonPort int32 `json:"daemonPort,omitempty"`

	// daemonCABundle is the PEM-encoded certificate authority that signs the
	// serving certificate of the agent's HTTPS endpoint; clients verify the
	// endpoint with it.
	// +optional
	// +kubebuilder:validation:MaxLength=16384
	DaemonCABundle string `json:"daemonCABundle,omitempty"`

	// agentVersion is the version of the meseta agent running on the node.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	AgentVersion string `json:"agentVersion,omitempty"`

	// runtime names the OCI runtime the agent runs containers with and its
	// version, for example "runc 1.5.2".
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Runtime string `json:"runtime,omitempty"`

	// lastHeartbeatTime is when the agent last reported this status. Liveness
	// itself is tracked through the node's Lease.
	// +optional
	LastHeartbeatTime *metav1.Time `json:"lastHeartbeatTime,omitempty"`

	// conditions are the node's observed conditions; "Ready" says whether it can
	// run tasks, "Drained" whether a drain finished.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// Node is a machine of the cluster, registered by the meseta agent that runs on
// it. The agent writes the status; operators write the spec to cordon, drain or
// schedule maintenance.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=mnode,categories=meseta
// +kubebuilder:selectablefield:JSONPath=`.spec.unschedulable`
// +kubebuilder:selectablefield:JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Unschedulable",type=boolean,JSONPath=`.spec.unschedulable`,priority=1
// +kubebuilder:printcolumn:name="Cpus",type=string,JSONPath=`.status.allocatable.cpus`
// +kubebuilder:printcolumn:name="Mem",type=string,JSONPath=`.status.allocatable.mem`
// +kubebuilder:printcolumn:name="Alloc Cpus",type=string,JSONPath=`.status.allocated.cpus`
// +kubebuilder:printcolumn:name="Alloc Mem",type=string,JSONPath=`.status.allocated.mem`
// +kubebuilder:printcolumn:name="Offered Cpus",type=string,JSONPath=`.status.offered.cpus`,priority=1
// +kubebuilder:printcolumn:name="Offered Mem",type=string,JSONPath=`.status.offered.mem`,priority=1
// +kubebuilder:printcolumn:name="Address",type=string,JSONPath=`.status.address`,priority=1
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.agentVersion`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Node struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata; the name is the node's name
	// (the agent's --node-name, by default the host name).
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what operators want of the node.
	// +optional
	Spec NodeSpec `json:"spec,omitzero"`

	// status is what the agent and the master observe of the node.
	// +optional
	Status NodeStatus `json:"status,omitzero"`
}

// NodeList is a list of Nodes.
// +kubebuilder:object:root=true
type NodeList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the nodes.
	Items []Node `json:"items"`
}

// IsReady reports whether the node's Ready condition is True.
func (n *Node) IsReady() bool {
	for _, c := range n.Status.Conditions {
		if c.Type == NodeReadyCondition {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}

func init() {
	SchemeBuilder.Register(&Node{}, &NodeList{})
}
