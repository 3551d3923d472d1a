package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OfferPhase is where an offer is in its life. Outstanding is the only phase an
// offer leaves; the others are final.
// +kubebuilder:validation:Enum=Outstanding;Accepted;Declined;Rescinded;Expired
type OfferPhase string

// Offer phases.
const (
	// OfferOutstanding is an offer that a framework may still accept or decline.
	// A new offer is Outstanding (the API server defaults it).
	OfferOutstanding OfferPhase = "Outstanding"
	// OfferAccepted is an offer used by the tasks in status.tasks; what they did
	// not use went back to the pool.
	OfferAccepted OfferPhase = "Accepted"
	// OfferDeclined is an offer the framework declined (spec.decline) or deleted.
	OfferDeclined OfferPhase = "Declined"
	// OfferRescinded is an offer the master took back: its node was lost,
	// cordoned or drained, or its framework became inactive or was torn down.
	OfferRescinded OfferPhase = "Rescinded"
	// OfferExpired is an offer that was not used before spec.expiresAt.
	OfferExpired OfferPhase = "Expired"
)

// IsFinal reports whether the phase is one an offer never leaves, that is any
// phase but Outstanding (and the empty phase, which means Outstanding).
func (p OfferPhase) IsFinal() bool {
	return p != "" && p != OfferOutstanding
}

// OfferReason is a CamelCase word saying why an offer reached its phase.
type OfferReason string

// Offer reasons, set in status.reason.
const (
	// OfferReasonTasksLaunched says tasks were bound to the offer (Accepted).
	OfferReasonTasksLaunched OfferReason = "TasksLaunched"
	// OfferReasonDeclinedByFramework says spec.decline was set (Declined).
	OfferReasonDeclinedByFramework OfferReason = "DeclinedByFramework"
	// OfferReasonAgentRemoved says the node was lost or removed (Rescinded).
	OfferReasonAgentRemoved OfferReason = "AgentRemoved"
	// OfferReasonNodeUnschedulable says the node was cordoned, drained or entered
	// maintenance (Rescinded).
	OfferReasonNodeUnschedulable OfferReason = "NodeUnschedulable"
	// OfferReasonFrameworkInactive says the framework lost its Lease, was
	// suppressed, or was torn down (Rescinded).
	OfferReasonFrameworkInactive OfferReason = "FrameworkInactive"
	// OfferReasonReallocated says the allocator took the resources back to honour
	// another role's guarantee or this role's limit (Rescinded).
	OfferReasonReallocated OfferReason = "Reallocated"
	// OfferReasonTimeout says spec.expiresAt passed (Expired).
	OfferReasonTimeout OfferReason = "Timeout"
)

// OfferSpec is what the master offers: resources of one node to one framework.
// Everything but decline is set by the master when it creates the offer and is
// immutable.
// +kubebuilder:validation:XValidation:rule="has(self.attributes) == has(oldSelf.attributes)",message="attributes are immutable",fieldPath=".attributes"
// +kubebuilder:validation:XValidation:rule="has(self.expiresAt) == has(oldSelf.expiresAt)",message="expiresAt is immutable",fieldPath=".expiresAt"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.decline) || has(self.decline)",message="a decline cannot be withdrawn",fieldPath=".decline"
type OfferSpec struct {
	// framework is the name of the Framework, in this namespace, the offer is made
	// to. Only that framework's tasks may use it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="framework is immutable"
	Framework string `json:"framework"`

	// nodeName is the name of the Node whose resources are offered.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="nodeName is immutable"
	NodeName string `json:"nodeName"`

	// resources are the offered resources. Tasks launched on the offer (with other
	// offers of the same node, if they name several) must fit in them.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="resources are immutable"
	Resources Resources `json:"resources"`

	// attributes are the node's attributes when the offer was made (the agent's,
	// overridden by the node's spec.attributes).
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="attributes are immutable"
	Attributes map[string]string `json:"attributes,omitempty"`

	// expiresAt is when the master takes the offer back if it is still outstanding
	// (the master's --offer-timeout). Unset when offers do not expire.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="expiresAt is immutable"
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// decline, set by the framework, declines the offer: its resources go back to
	// the pool and the node is not offered to the framework again for
	// refuseSeconds (unless the framework revives). Deleting an outstanding offer
	// declines it too, with the default refuseSeconds. Once set, decline cannot be
	// changed or removed.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="decline is immutable once set"
	Decline *OfferDecline `json:"decline,omitempty"`
}

// OfferDecline declines an offer and says for how long not to offer that node
// again.
type OfferDecline struct {
	// refuseSeconds is how long, in seconds, the node is filtered for the
	// framework after the decline. 0 means the node may be offered again in the
	// next allocation round. Defaults to 5, as in Mesos; at most a year.
	// +optional
	// +kubebuilder:default=5
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=31536000
	RefuseSeconds *int32 `json:"refuseSeconds,omitempty"`
}

// OfferStatus is what became of an offer. It is written by the master.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.phase) || oldSelf.phase == 'Outstanding' || (has(self.phase) && self.phase == oldSelf.phase)",message="an offer that is no longer Outstanding cannot change its phase",fieldPath=".phase"
type OfferStatus struct {
	// phase is where the offer is in its life: Outstanding, then one of Accepted,
	// Declined, Rescinded or Expired, which are final.
	// +optional
	// +kubebuilder:default=Outstanding
	Phase OfferPhase `json:"phase,omitempty"`

	// reason is a CamelCase word saying why the offer reached its phase, such as
	// TasksLaunched, DeclinedByFramework, AgentRemoved or Timeout.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^([A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?)?$`
	Reason OfferReason `json:"reason,omitempty"`

	// message is a human-readable sentence about the phase.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Message string `json:"message,omitempty"`

	// tasks are the names of the tasks that were launched on the offer.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=253
	Tasks []string `json:"tasks,omitempty"`

	// acceptedAt is when the offer was accepted.
	// +optional
	AcceptedAt *metav1.Time `json:"acceptedAt,omitempty"`

	// closedAt is when the offer left the Outstanding phase.
	// +optional
	ClosedAt *metav1.Time `json:"closedAt,omitempty"`
}

// Offer is the resources of one node offered to one framework by the master.
// The framework accepts it by creating Tasks whose spec.offers name it, or
// declines it by setting spec.decline (or deleting it). Offers live in the
// framework's namespace.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=of,categories=meseta
// +kubebuilder:selectablefield:JSONPath=`.spec.framework`
// +kubebuilder:selectablefield:JSONPath=`.spec.nodeName`
// +kubebuilder:selectablefield:JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Framework",type=string,JSONPath=`.spec.framework`
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.spec.nodeName`
// +kubebuilder:printcolumn:name="Cpus",type=string,JSONPath=`.spec.resources.cpus`
// +kubebuilder:printcolumn:name="Mem",type=string,JSONPath=`.spec.resources.mem`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.reason`,priority=1
// +kubebuilder:printcolumn:name="Expires",type=date,JSONPath=`.spec.expiresAt`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Offer struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what is offered, to whom, and the framework's decline if any.
	// +required
	Spec OfferSpec `json:"spec"`

	// status is what became of the offer.
	// +optional
	// +kubebuilder:default={phase: Outstanding}
	Status OfferStatus `json:"status,omitzero"`
}

// OfferList is a list of Offers.
// +kubebuilder:object:root=true
type OfferList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the offers.
	Items []Offer `json:"items"`
}

// IsOutstanding reports whether the offer may still be accepted or declined.
func (o *Offer) IsOutstanding() bool {
	return !o.Status.Phase.IsFinal() && o.Spec.Decline == nil
}

func init() {
	SchemeBuilder.Register(&Offer{}, &OfferList{})
}
