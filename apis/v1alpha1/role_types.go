package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RoleSpec is the share of the cluster a role is entitled to.
// +kubebuilder:validation:XValidation:rule="!has(self.limit) || !has(self.limit.ports)",message="ports cannot be limited: quota applies to cpus, mem, disk and gpus",fieldPath=".limit.ports"
// +kubebuilder:validation:XValidation:rule="!has(self.guarantee) || !has(self.guarantee.ports)",message="ports cannot be guaranteed: quota applies to cpus, mem, disk and gpus",fieldPath=".guarantee.ports"
// +kubebuilder:validation:XValidation:rule="!has(self.limit) || !has(self.guarantee) || !has(self.limit.cpus) || !has(self.guarantee.cpus) || quantity(string(self.guarantee.cpus)).compareTo(quantity(string(self.limit.cpus))) <= 0",message="guarantee.cpus must not exceed limit.cpus",fieldPath=".guarantee.cpus"
// +kubebuilder:validation:XValidation:rule="!has(self.limit) || !has(self.guarantee) || !has(self.limit.mem) || !has(self.guarantee.mem) || quantity(string(self.guarantee.mem)).compareTo(quantity(string(self.limit.mem))) <= 0",message="guarantee.mem must not exceed limit.mem",fieldPath=".guarantee.mem"
// +kubebuilder:validation:XValidation:rule="!has(self.limit) || !has(self.guarantee) || !has(self.limit.disk) || !has(self.guarantee.disk) || quantity(string(self.guarantee.disk)).compareTo(quantity(string(self.limit.disk))) <= 0",message="guarantee.disk must not exceed limit.disk",fieldPath=".guarantee.disk"
// +kubebuilder:validation:XValidation:rule="!has(self.limit) || !has(self.guarantee) || !has(self.limit.gpus) || !has(self.guarantee.gpus) || quantity(string(self.guarantee.gpus)).compareTo(quantity(string(self.limit.gpus))) <= 0",message="guarantee.gpus must not exceed limit.gpus",fieldPath=".guarantee.gpus"
type RoleSpec struct {
	// weight scales the role's fair share: under weighted DRF a role's dominant
	// share is divided by its weight, so a role of weight 2 is offered twice as
	// much as a role of weight 1 when both want more. Must be greater than zero;
	// defaults to 1.
	// +optional
	// +kubebuilder:default="1"
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).compareTo(quantity('0')) > 0",message="weight must be greater than zero"
	Weight *resource.Quantity `json:"weight,omitempty"`

	// limit is the most the role's frameworks may hold together (allocated plus
	// offered), per resource. A resource that is not named is not limited. A
	// parent role's limit also bounds the sum of its children.
	// +optional
	Limit *Resources `json:"limit,omitempty"`

	// guarantee is what the role is offered before any role that already holds
	// its own guarantee, per resource, as long as it wants that much. A guarantee
	// reserves nothing: resources it does not use are offered to others. It must
	// not exceed limit in any resource both name.
	// +optional
	Guarantee *Resources `json:"guarantee,omitempty"`
}

// RoleStatus is what the master observes of a role.
type RoleStatus struct {
	// observedGeneration is the generation of the spec the master last acted on.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// allocated is the sum of the resources of the role's frameworks' non-terminal
	// tasks, children included.
	// +optional
	Allocated Resources `json:"allocated,omitzero"`

	// offered is the sum of the role's frameworks' outstanding offers, children
	// included.
	// +optional
	Offered Resources `json:"offered,omitzero"`

	// dominantShare is the role's dominant share divided by its weight, as a
	// decimal (for example "0.25"), as the allocator last computed it.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[0-9]+(\.[0-9]+)?$`
	DominantShare string `json:"dominantShare,omitempty"`

	// frameworks is the number of Frameworks whose role is this one.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Frameworks int32 `json:"frameworks,omitempty"`

	// conditions are the role's observed conditions: "LimitReached" and
	// "GuaranteeMet".
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// Role is a weighted-DRF role: a consumer of cluster resources that frameworks
// belong to, with a weight, an optional limit (quota) and an optional guarantee.
//
// Roles are hierarchical: a name's segments are separated by dots, so
// "eng.frontend" is a child of "eng". A parent's limit bounds its children
// together, and fair sharing happens first among siblings, then within each
// child. A framework may use a role that has no Role object; it then has weight
// 1, no limit and no guarantee. The default role of a framework is its namespace.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=mrole,categories=meseta
// +kubebuilder:printcolumn:name="Weight",type=string,JSONPath=`.spec.weight`
// +kubebuilder:printcolumn:name="Limit Cpus",type=string,JSONPath=`.spec.limit.cpus`,priority=1
// +kubebuilder:printcolumn:name="Limit Mem",type=string,JSONPath=`.spec.limit.mem`,priority=1
// +kubebuilder:printcolumn:name="Alloc Cpus",type=string,JSONPath=`.status.allocated.cpus`
// +kubebuilder:printcolumn:name="Alloc Mem",type=string,JSONPath=`.status.allocated.mem`
// +kubebuilder:printcolumn:name="Share",type=string,JSONPath=`.status.dominantShare`
// +kubebuilder:printcolumn:name="Frameworks",type=integer,JSONPath=`.status.frameworks`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Role struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata; the name is the role's name,
	// dot-separated segments for nested roles.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the role's weight, limit and guarantee.
	// +optional
	// +kubebuilder:default={}
	Spec RoleSpec `json:"spec,omitzero"`

	// status is what the master observes of the role.
	// +optional
	Status RoleStatus `json:"status,omitzero"`
}

// RoleList is a list of Roles.
// +kubebuilder:object:root=true
type RoleList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the roles.
	Items []Role `json:"items"`
}

// EffectiveWeight returns the role's weight, 1 when it is not set.
func (r *Role) EffectiveWeight() resource.Quantity {
	if r.Spec.Weight == nil {
		return resource.MustParse("1")
	}
	return r.Spec.Weight.DeepCopy()
}

// ParentRole returns the name of the parent of a hierarchical role name, and
// false for a top-level role: ParentRole("eng.frontend") is "eng", true.
func ParentRole(name string) (string, bool) {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '.' {
			return name[:i], true
		}
	}
	return "", false
}

func init() {
	SchemeBuilder.Register(&Role{}, &RoleList{})
}
