package v1alpha1

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FrameworkCapability is an optional behaviour a framework asks the master for.
// +kubebuilder:validation:Enum=GPUResources;TaskKillingState
type FrameworkCapability string

// Framework capabilities.
const (
	// CapabilityGPUResources lets the framework receive offers from nodes that have
	// GPUs. As in Mesos, frameworks without it are not offered GPU nodes at all,
	// so that GPU nodes stay free for the frameworks that need them.
	CapabilityGPUResources FrameworkCapability = "GPUResources"
	// CapabilityTaskKillingState makes the agent report the Killing state while a
	// task's kill grace period runs. Without it a killed task goes straight from
	// its last state to its terminal state.
	CapabilityTaskKillingState FrameworkCapability = "TaskKillingState"
)

// FrameworkPhase is a summary of a framework's state.
// +kubebuilder:validation:Enum=Inactive;Active;Suppressed;TornDown
type FrameworkPhase string

// Framework phases.
const (
	// FrameworkInactive is a framework without a fresh Lease: it gets no offers
	// and its failoverTimeout runs. A new Framework is inactive until its first
	// Lease renewal.
	FrameworkInactive FrameworkPhase = "Inactive"
	// FrameworkActive is a framework with a fresh Lease that receives offers.
	FrameworkActive FrameworkPhase = "Active"
	// FrameworkSuppressed is an active framework with spec.suppressed set: it gets
	// no new offers, and its tasks keep running.
	FrameworkSuppressed FrameworkPhase = "Suppressed"
	// FrameworkTornDown is a framework that stayed inactive for longer than its
	// failoverTimeout: its offers were rescinded and its tasks killed.
	FrameworkTornDown FrameworkPhase = "TornDown"
)

// FrameworkSpec is how a framework (a scheduler) wants to be treated by the
// allocator.
// +kubebuilder:validation:XValidation:rule="has(self.role) == has(oldSelf.role) && (!has(self.role) || self.role == oldSelf.role)",message="role is immutable",fieldPath=".role"
type FrameworkSpec struct {
	// role is the DRF role the framework's resources are accounted to; a Role
	// object of that name, if any, sets the role's weight, limit and guarantee.
	// When empty the role is the framework's namespace (status.role shows the role
	// in effect). Dots separate the segments of nested roles ("eng.frontend").
	// Immutable.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Role string `json:"role,omitempty"`

	// failoverTimeout is how long the framework may stay inactive (its Lease
	// missing or expired) before the master tears it down, rescinding its offers
	// and killing its tasks. Its tasks keep running meanwhile, so a framework can
	// restart or be upgraded without losing them. Mesos defaults to 0 (tear down at
	// once); Meseta defaults to 10m, which covers a restart. "0s" asks for the
	// Mesos behaviour.
	// +optional
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+)$`
	FailoverTimeout *metav1.Duration `json:"failoverTimeout,omitempty"`

	// suppressed, when true, stops new offers to the framework (Mesos' suppress)
	// and, a few seconds later, rescinds its outstanding offers, so that what
	// they hold goes to other frameworks; an offer that a task still waiting to
	// be bound names is left to be accepted. Set it back to false to receive
	// offers again.
	// +optional
	Suppressed bool `json:"suppressed,omitempty"`

	// revive is a counter the framework increases to clear all its decline filters
	// at once (Mesos' revive); the master records the value it acted on in
	// status.observedRevive. Only changes matter, not the value.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Revive int64 `json:"revive,omitempty"`

	// capabilities are optional behaviours the framework asks for: GPUResources
	// (receive offers of nodes with GPUs) and TaskKillingState (see the Killing
	// state of tasks).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=8
	Capabilities []FrameworkCapability `json:"capabilities,omitempty"`

	// minAllocatable is the smallest offer the framework wants, overriding the
	// master's --min-allocatable for it: an offer must hold at least this much of
	// every resource named here.
	// +optional
	MinAllocatable *Resources `json:"minAllocatable,omitempty"`
}

// FrameworkStatus is what the master observes of a framework.
type FrameworkStatus struct {
	// observedGeneration is the generation of the spec the master last acted on.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase summarizes the framework's state: Inactive, Active, Suppressed or
	// TornDown.
	// +optional
	Phase FrameworkPhase `json:"phase,omitempty"`

	// role is the role in effect: spec.role, or the namespace when that is empty.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Role string `json:"role,omitempty"`

	// allocated is the sum of the resources of the framework's non-terminal tasks.
	// +optional
	Allocated Resources `json:"allocated,omitzero"`

	// offered is the sum of the framework's outstanding offers.
	// +optional
	Offered Resources `json:"offered,omitzero"`

	// dominantShare is the framework's dominant share within its role, as a
	// decimal (for example "0.25"), as the allocator last computed it.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?$`
	DominantShare string `json:"dominantShare,omitempty"`

	// tasks is the number of the framework's tasks that are not in a terminal
	// state.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Tasks int32 `json:"tasks,omitempty"`

	// observedRevive is the last spec.revive the master acted on.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ObservedRevive int64 `json:"observedRevive,omitempty"`

	// conditions are the framework's observed conditions: "Active" and "TornDown".
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// Framework is a scheduler that receives resource offers and launches tasks on
// them (two-level scheduling). A framework proves it is alive by renewing a
// coordination.k8s.io/v1 Lease with the Framework's name in its namespace; its
// offers and tasks live in the same namespace.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=fw,categories=meseta
// +kubebuilder:selectablefield:JSONPath=`.status.role`
// +kubebuilder:selectablefield:JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Role",type=string,JSONPath=`.status.role`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Cpus",type=string,JSONPath=`.status.allocated.cpus`
// +kubebuilder:printcolumn:name="Mem",type=string,JSONPath=`.status.allocated.mem`
// +kubebuilder:printcolumn:name="Share",type=string,JSONPath=`.status.dominantShare`
// +kubebuilder:printcolumn:name="Tasks",type=integer,JSONPath=`.status.tasks`
// +kubebuilder:printcolumn:name="Suppressed",type=boolean,JSONPath=`.spec.suppressed`,priority=1
// +kubebuilder:printcolumn:name="Failover",type=string,JSONPath=`.spec.failoverTimeout`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Framework struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is how the framework wants to be treated by the allocator.
	// +optional
	// +kubebuilder:default={}
	Spec FrameworkSpec `json:"spec,omitzero"`

	// status is what the master observes of the framework.
	// +optional
	Status FrameworkStatus `json:"status,omitzero"`
}

// FrameworkList is a list of Frameworks.
// +kubebuilder:object:root=true
type FrameworkList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the frameworks.
	Items []Framework `json:"items"`
}

// EffectiveRole returns the framework's role: spec.role, or its namespace when
// that is empty.
func (f *Framework) EffectiveRole() string {
	if f.Spec.Role != "" {
		return f.Spec.Role
	}
	return f.Namespace
}

// HasCapability reports whether the framework asked for a capability.
func (f *Framework) HasCapability(c FrameworkCapability) bool {
	return slices.Contains(f.Spec.Capabilities, c)
}

func init() {
	SchemeBuilder.Register(&Framework{}, &FrameworkList{})
}
