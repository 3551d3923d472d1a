package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TaskFinalizer keeps a deleted Task until its container is gone and its final
// status is written.
const TaskFinalizer = "meseta.dev/task"

// TaskState is the state of a task, one-to-one with Mesos' TaskState.
// +kubebuilder:validation:Enum=Staging;Starting;Running;Killing;Finished;Failed;Killed;Error;Lost;Dropped;Unreachable;Gone;Unknown
type TaskState string

// StagingMessage is the status message of a task in Staging: bound to its
// node, not started by the agent yet. The write that binds a task stages it.
const StagingMessage = "Bound to the node; waiting for the agent to start it"

// Task states. Finished, Failed, Killed, Error, Lost, Dropped and Gone are
// terminal: a task in one of them never changes state again.
const (
	// TaskStaging is a task bound to a node whose agent has not started it yet.
	TaskStaging TaskState = "Staging"
	// TaskStarting is a task whose container the agent is preparing (pulling the
	// image, creating the sandbox).
	TaskStarting TaskState = "Starting"
	// TaskRunning is a task whose container runs.
	TaskRunning TaskState = "Running"
	// TaskKilling is a task that was sent SIGTERM and is within its kill grace
	// period (reported to frameworks with the TaskKillingState capability).
	TaskKilling TaskState = "Killing"
	// TaskFinished is a task that exited with status 0. Terminal.
	TaskFinished TaskState = "Finished"
	// TaskFailed is a task that exited with a non-zero status or was killed by a
	// limit (reason ContainerLimitation). Terminal.
	TaskFailed TaskState = "Failed"
	// TaskKilled is a task killed on request: deleted, or its framework torn
	// down, or its node drained. Terminal.
	TaskKilled TaskState = "Killed"
	// TaskError is a task that could not be launched because it is malformed.
	// Terminal.
	TaskError TaskState = "Error"
	// TaskLost is a task whose fate is unknown and that will not come back, such
	// as one whose container vanished. Terminal.
	TaskLost TaskState = "Lost"
	// TaskDropped is a task that was never launched, for example because its
	// offers were invalid. Terminal.
	TaskDropped TaskState = "Dropped"
	// TaskUnreachable is a task on a node that stopped heartbeating; it may come
	// back if the node returns.
	TaskUnreachable TaskState = "Unreachable"
	// TaskGone is a task on a node that was declared gone. Terminal.
	TaskGone TaskState = "Gone"
	// TaskUnknown is a task the master knows nothing about (reconciliation).
	TaskUnknown TaskState = "Unknown"
)

// TaskStates lists every task state in the order of the Mesos enumeration.
var TaskStates = []TaskState{
	TaskStaging, TaskStarting, TaskRunning, TaskKilling, TaskFinished, TaskFailed,
	TaskKilled, TaskError, TaskLost, TaskDropped, TaskUnreachable, TaskGone, TaskUnknown,
}

// IsTerminal reports whether s is a terminal state, which a task never leaves.
func (s TaskState) IsTerminal() bool {
	switch s {
	case TaskFinished, TaskFailed, TaskKilled, TaskError, TaskLost, TaskDropped, TaskGone:
		return true
	}
	return false
}

// TaskReason is a CamelCase word saying why a task reached its state, after
// Mesos' TaskStatus.Reason.
type TaskReason string

// Task reasons, set in status.reason.
const (
	// ReasonContainerLimitation says the container hit a resource limit; it is
	// the reason of OOM kills.
	ReasonContainerLimitation TaskReason = "ContainerLimitation"
	// ReasonContainerLimitationDisk says the container used more disk than its
	// resources allow.
	ReasonContainerLimitationDisk TaskReason = "ContainerLimitationDisk"
	// ReasonContainerLaunchFailed says the agent could not create or start the
	// container.
	ReasonContainerLaunchFailed TaskReason = "ContainerLaunchFailed"
	// ReasonImagePullFailed says the agent could not fetch or unpack the image.
	ReasonImagePullFailed TaskReason = "ImagePullFailed"
	// ReasonCommandExecutorFailed says the task's process exited with a non-zero
	// status or was killed by a signal.
	ReasonCommandExecutorFailed TaskReason = "CommandExecutorFailed"
	// ReasonContainerVanished says the agent found the task's container gone, for
	// example after the agent restarted.
	ReasonContainerVanished TaskReason = "ContainerVanished"
	// ReasonHealthCheckFailed says the task was killed after failing its health
	// check consecutiveFailures times.
	ReasonHealthCheckFailed TaskReason = "HealthCheckFailed"
	// ReasonKillRequested says the task was killed because it was deleted.
	ReasonKillRequested TaskReason = "KillRequested"
	// ReasonInvalidOffers says the task's offers were not outstanding, not its
	// framework's, not on one node, or too small.
	ReasonInvalidOffers TaskReason = "InvalidOffers"
	// ReasonOvercommitted says the node could not hold the task without going past
	// its allocatable resources.
	ReasonOvercommitted TaskReason = "Overcommitted"
	// ReasonTaskInvalid says the task is malformed (state Error).
	ReasonTaskInvalid TaskReason = "TaskInvalid"
	// ReasonFrameworkRemoved says the task's framework was torn down or deleted.
	ReasonFrameworkRemoved TaskReason = "FrameworkRemoved"
	// ReasonAgentDisconnected says the task's node stopped heartbeating.
	ReasonAgentDisconnected TaskReason = "AgentDisconnected"
	// ReasonAgentRemoved says the task's node was removed or declared gone.
	ReasonAgentRemoved TaskReason = "AgentRemoved"
	// ReasonAgentRestarted says the agent restarted and could not recover the
	// task.
	ReasonAgentRestarted TaskReason = "AgentRestarted"
	// ReasonAgentDrained says the task was killed to drain its node.
	ReasonAgentDrained TaskReason = "AgentDrained"
	// ReasonReconciliationTimeout says the master gave up waiting for the agent to
	// report the task after a failover or reconnection.
	ReasonReconciliationTimeout TaskReason = "ReconciliationTimeout"
)

// TaskSpec is a task's framework, the offers it is launched on, the node it is
// bound to, and what it runs. Only nodeName may change after creation, once,
// from unset to set.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.nodeName) || (has(self.nodeName) && self.nodeName == oldSelf.nodeName)",message="nodeName cannot be changed once set",fieldPath=".nodeName"
// +kubebuilder:validation:XValidation:rule="self.resources == oldSelf.resources",message="resources are immutable",fieldPath=".resources"
// +kubebuilder:validation:XValidation:rule="self.container == oldSelf.container",message="container is immutable",fieldPath=".container"
// +kubebuilder:validation:XValidation:rule="has(self.killGracePeriod) == has(oldSelf.killGracePeriod) && (!has(self.killGracePeriod) || self.killGracePeriod == oldSelf.killGracePeriod)",message="killGracePeriod is immutable",fieldPath=".killGracePeriod"
// +kubebuilder:validation:XValidation:rule="has(self.healthCheck) == has(oldSelf.healthCheck) && (!has(self.healthCheck) || self.healthCheck == oldSelf.healthCheck)",message="healthCheck is immutable",fieldPath=".healthCheck"
// +kubebuilder:validation:XValidation:rule="(has(self.offers) && size(self.offers) > 0) || has(self.nodeName)",message="a task names the offers it is launched on (offers) or, placed by an operator, a node (nodeName)",fieldPath=".offers"
type TaskSpec struct {
	// framework is the name of the Framework, in this namespace, that launches the
	// task. Immutable.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="framework is immutable"
	Framework string `json:"framework"`

	// offers are the names of the Offers, in this namespace, the task is launched
	// on: outstanding offers of the task's framework, all on one node, that
	// together hold the task's resources. Creating the task accepts them.
	// A task without offers is bound by an operator with nodeName instead, and
	// is admitted only if it fits on that node. Immutable.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="offers are immutable"
	Offers []string `json:"offers,omitempty"`

	// nodeName is the Node the task is bound to. The master sets it when it has
	// checked the offers; it cannot change after that. The agent of that node runs
	// the task.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	NodeName string `json:"nodeName,omitempty"`

	// TaskTemplate holds resources, container, killGracePeriod and healthCheck,
	// all immutable.
	TaskTemplate `json:",inline"`
}

// TaskStatus is what became of a task. The master writes it until the task is
// bound (and when it refuses the task's offers); the node's agent writes it
// after that.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.state) || !(oldSelf.state in ['Finished', 'Failed', 'Killed', 'Error', 'Lost', 'Dropped', 'Gone']) || (has(self.state) && self.state == oldSelf.state)",message="a task in a terminal state cannot change state",fieldPath=".state"
type TaskStatus struct {
	// state is the task's state: empty until the task is bound, then Staging
	// (set by the write that binds it), Starting, Running, and at last a
	// terminal state: Finished, Failed, Killed, Error, Lost, Dropped or Gone.
	// Killing, Unreachable and Unknown are the other states. A terminal state
	// never changes.
	// +optional
	State TaskState `json:"state,omitempty"`

	// reason is a CamelCase word saying why the task reached its state, such as
	// ContainerLimitation (OOM kill), InvalidOffers, AgentRemoved or
	// ReconciliationTimeout.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^([A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?)?$`
	Reason TaskReason `json:"reason,omitempty"`

	// message is a human-readable sentence about the state.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Message string `json:"message,omitempty"`

	// exitCode is the exit status of the task's process, when it exited.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=255
	ExitCode *int32 `json:"exitCode,omitempty"`

	// signal is the number of the signal that killed the task's process, when one
	// did (9 for SIGKILL).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=128
	Signal *int32 `json:"signal,omitempty"`

	// healthy is the result of the latest health check; unset when the task has
	// no health check or none has finished yet.
	// +optional
	Healthy *bool `json:"healthy,omitempty"`

	// startedAt is when the task's container started running.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// finishedAt is when the task reached its terminal state.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`

	// containerID is the ID of the task's container in the node's OCI runtime.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	ContainerID string `json:"containerID,omitempty"`

	// sandbox is the path of the task's sandbox directory on the node; the
	// task's stdout and stderr files are there, and it is mounted at /mnt/sandbox
	// in the container.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Sandbox string `json:"sandbox,omitempty"`

	// conditions are the task's observed conditions: "Bound", "Healthy" and
	// "Evicted".
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// Task is one container, launched by a framework on offers of one node and run
// by that node's agent. Deleting a Task kills it: SIGTERM, then SIGKILL after
// its killGracePeriod. A bound Task carries no managedFields: its spec no
// longer changes, and the master clears them when it binds the task so that
// its status writes are not tracked (a server-side apply tracks them again).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=tk,categories={meseta,all}
// +kubebuilder:selectablefield:JSONPath=`.spec.framework`
// +kubebuilder:selectablefield:JSONPath=`.spec.nodeName`
// +kubebuilder:selectablefield:JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.spec.nodeName`
// +kubebuilder:printcolumn:name="Cpus",type=string,JSONPath=`.spec.resources.cpus`
// +kubebuilder:printcolumn:name="Mem",type=string,JSONPath=`.spec.resources.mem`
// +kubebuilder:printcolumn:name="Framework",type=string,JSONPath=`.spec.framework`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.reason`,priority=1
// +kubebuilder:printcolumn:name="Exit",type=integer,JSONPath=`.status.exitCode`,priority=1
// +kubebuilder:printcolumn:name="Healthy",type=boolean,JSONPath=`.status.healthy`,priority=1
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.container.image`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Task struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the task's framework, offers, node, and what it runs.
	// +required
	Spec TaskSpec `json:"spec"`

	// status is what became of the task.
	// +optional
	Status TaskStatus `json:"status,omitzero"`
}

// TaskList is a list of Tasks.
// +kubebuilder:object:root=true
type TaskList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the tasks.
	Items []Task `json:"items"`
}

// IsTerminal reports whether the task reached a terminal state.
func (t *Task) IsTerminal() bool {
	return t.Status.State.IsTerminal()
}

// IsBound reports whether the master bound the task to a node.
func (t *Task) IsBound() bool {
	return t.Spec.NodeName != ""
}

func init() {
	SchemeBuilder.Register(&Task{}, &TaskList{})
}
