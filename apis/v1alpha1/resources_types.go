package v1alpha1

import "k8s.io/apimachinery/pkg/api/resource"

// Resources is an amount of each schedulable resource of a node: what a node has,
// what an offer holds, what a task asks for.
//
// A quantity is negative when it is written with a minus sign (the schema's
// pattern has checked that it is a quantity): the rules below look at the sign
// instead of parsing the quantity, as every write of an object that holds
// Resources runs them (a Node's status writes, say). The master runs a
// Task's in Go (package taskvalidation) and serves the Task CRD without them.
// +kubebuilder:validation:XValidation:rule="!has(self.cpus) || !string(self.cpus).startsWith('-')",message="cpus must not be negative",fieldPath=".cpus"
// +kubebuilder:validation:XValidation:rule="!has(self.mem) || !string(self.mem).startsWith('-')",message="mem must not be negative",fieldPath=".mem"
// +kubebuilder:validation:XValidation:rule="!has(self.disk) || !string(self.disk).startsWith('-')",message="disk must not be negative",fieldPath=".disk"
// +kubebuilder:validation:XValidation:rule="!has(self.gpus) || !string(self.gpus).startsWith('-')",message="gpus must not be negative",fieldPath=".gpus"
// +kubebuilder:validation:XValidation:rule="!has(self.gpus) || quantity(string(self.gpus)).isInteger()",message="gpus must be a whole number",fieldPath=".gpus"
// +kubebuilder:validation:XValidation:rule="!has(self.ports) || self.ports.all(a, self.ports.exists_one(b, a.begin <= b.end && b.begin <= a.end))",message="port ranges must not overlap or repeat",fieldPath=".ports"
type Resources struct {
	// cpus is a number of CPUs, fractions allowed (for example "0.5" or "500m").
	// +optional
	Cpus *resource.Quantity `json:"cpus,omitempty"`
	// mem is an amount of memory in bytes, as a quantity (for example "256Mi").
	// +optional
	Mem *resource.Quantity `json:"mem,omitempty"`
	// disk is an amount of scratch disk in bytes, as a quantity (for example "1Gi").
	// +optional
	Disk *resource.Quantity `json:"disk,omitempty"`
	// gpus is a whole number of GPUs.
	// +optional
	Gpus *resource.Quantity `json:"gpus,omitempty"`
	// ports are ranges of host ports, each inclusive at both ends; ranges must not
	// overlap.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Ports []PortRange `json:"ports,omitempty"`
}

// PortRange is an inclusive range of host ports.
// +kubebuilder:validation:XValidation:rule="self.end >= self.begin",message="end must be at least begin",fieldPath=".end"
type PortRange struct {
	// begin is the first port of the range.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Begin int32 `json:"begin"`
	// end is the last port of the range.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	End int32 `json:"end"`
}
