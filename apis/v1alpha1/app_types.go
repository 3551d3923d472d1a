package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Constraint operators, the second element of an App constraint.
const (
	// ConstraintUnique places at most one instance per distinct value of the
	// field: [hostname, UNIQUE] runs one instance per node. Takes no value.
	ConstraintUnique = "UNIQUE"
	// ConstraintCluster places every instance on nodes whose field equals the
	// value: [rack, CLUSTER, r1].
	ConstraintCluster = "CLUSTER"
	// ConstraintGroupBy spreads instances evenly over the field's values; the
	// optional value is how many distinct values to expect: [zone, GROUP_BY, "3"].
	ConstraintGroupBy = "GROUP_BY"
	// ConstraintLike places instances on nodes whose field matches the value, a
	// regular expression matched against the whole field: [rack, LIKE, "r[1-3]"].
	ConstraintLike = "LIKE"
	// ConstraintUnlike places instances on nodes whose field does not match the
	// value, a regular expression: [rack, UNLIKE, "r9"].
	ConstraintUnlike = "UNLIKE"
	// ConstraintMaxPer places at most value instances per distinct value of the
	// field: [zone, MAX_PER, "2"].
	ConstraintMaxPer = "MAX_PER"
)

// Constraint is a Marathon-style placement rule: [field, OPERATOR] or [field,
// OPERATOR, value]. field is "hostname" (the node's host name) or the name of a
// node attribute. OPERATOR is UNIQUE (no value), CLUSTER, LIKE, UNLIKE, MAX_PER
// (a value is required; for MAX_PER a positive integer), or GROUP_BY (value
// optional, a positive integer).
// +listType=atomic
// +kubebuilder:validation:MinItems=2
// +kubebuilder:validation:MaxItems=3
// +kubebuilder:validation:items:MaxLength=256
// +kubebuilder:validation:XValidation:rule="self.size() < 1 || self[0].size() > 0",message="a constraint's field must not be empty"
// +kubebuilder:validation:XValidation:rule="self.size() < 2 || self[1] in ['UNIQUE', 'CLUSTER', 'GROUP_BY', 'LIKE', 'UNLIKE', 'MAX_PER']",message="a constraint's operator must be one of UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER"
// +kubebuilder:validation:XValidation:rule="self.size() < 2 || self[1] != 'UNIQUE' || self.size() == 2",message="UNIQUE takes no value"
// +kubebuilder:validation:XValidation:rule="self.size() < 2 || !(self[1] in ['CLUSTER', 'LIKE', 'UNLIKE', 'MAX_PER']) || self.size() == 3",message="CLUSTER, LIKE, UNLIKE and MAX_PER need a value"
// +kubebuilder:validation:XValidation:rule="self.size() < 3 || !(self[1] in ['MAX_PER', 'GROUP_BY']) || self[2].matches('^[1-9][0-9]{0,8}$')",message="the value of MAX_PER and GROUP_BY must be a positive integer"
type Constraint []string

// UpgradeStrategy says how an App replaces its tasks when its template changes,
// in percent of spec.instances (Marathon's upgradeStrategy).
type UpgradeStrategy struct {
	// minimumHealthCapacity is the percentage of instances that must stay running
	// (and healthy, with a health check) during an upgrade. 100, the default,
	// starts new tasks before old ones are killed; 0 allows killing all old tasks
	// first.
	// +optional
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	MinimumHealthCapacity *int32 `json:"minimumHealthCapacity,omitempty"`

	// maximumOverCapacity is the percentage of instances that may run on top of
	// spec.instances during an upgrade. Defaults to 100.
	// +optional
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	MaximumOverCapacity *int32 `json:"maximumOverCapacity,omitempty"`
}

// Backoff delays the relaunch of an App's failing tasks: after each failure the
// delay grows by factor, from initialSeconds up to maxSeconds; a task that runs
// for a while resets it.
// +kubebuilder:validation:XValidation:rule="!has(self.initialSeconds) || !has(self.maxSeconds) || self.initialSeconds <= self.maxSeconds",message="maxSeconds must be at least initialSeconds",fieldPath=".maxSeconds"
type Backoff struct {
	// initialSeconds is the delay after the first failure, in seconds. Defaults
	// to 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=86400
	InitialSeconds *int32 `json:"initialSeconds,omitempty"`

	// factor multiplies the delay after each further failure; at least 1.
	// Defaults to "1.15".
	// +optional
	// +kubebuilder:default="1.15"
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).compareTo(quantity('1')) >= 0",message="factor must be at least 1"
	Factor *resource.Quantity `json:"factor,omitempty"`

	// maxSeconds is the longest delay, in seconds. Defaults to 300.
	// +optional
	// +kubebuilder:default=300
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=86400
	MaxSeconds *int32 `json:"maxSeconds,omitempty"`
}

// AppSpec is a long-running service: how many instances of which task, where.
type AppSpec struct {
	// instances is how many tasks of the template the app keeps running.
	// Defaults to 1; 0 stops the app without deleting it.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	Instances *int32 `json:"instances,omitempty"`

	// constraints are Marathon-style placement rules, all of which a node must
	// satisfy to receive an instance, such as [hostname, UNIQUE] or
	// [rack, CLUSTER, r1].
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Constraints []Constraint `json:"constraints,omitempty"`

	// template is the task each instance runs. Changing it starts a deployment
	// that replaces the tasks following upgradeStrategy.
	// +required
	Template TaskTemplate `json:"template"`

	// upgradeStrategy says how tasks are replaced when the template changes.
	// +optional
	// +kubebuilder:default={}
	UpgradeStrategy *UpgradeStrategy `json:"upgradeStrategy,omitempty"`

	// backoff delays the relaunch of failing tasks.
	// +optional
	// +kubebuilder:default={}
	Backoff *Backoff `json:"backoff,omitempty"`
}

// DeploymentPhase is where an App's deployment is.
// +kubebuilder:validation:Enum=Progressing;Complete;Failed
type DeploymentPhase string

// Deployment phases.
const (
	// DeploymentProgressing is a deployment under way.
	DeploymentProgressing DeploymentPhase = "Progressing"
	// DeploymentComplete is a deployment that finished: every instance runs the
	// current template.
	DeploymentComplete DeploymentPhase = "Complete"
	// DeploymentFailed is a deployment that cannot finish: an instance of its
	// version failed 3 times in a row and is not healthy again (the apps
	// framework keeps relaunching it with backoff, and the deployment is
	// Progressing or Complete once it is); the message says the last failure.
	DeploymentFailed DeploymentPhase = "Failed"
)

// AppDeployment is the latest change an App is rolling out.
type AppDeployment struct {
	// id identifies the deployment; it changes with every new deployment.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	ID string `json:"id"`

	// phase is Progressing, Complete or Failed.
	// +required
	Phase DeploymentPhase `json:"phase"`

	// updated is how many instances run the current template.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Updated int32 `json:"updated,omitempty"`

	// startedAt is when the deployment started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// message is a human-readable sentence about the deployment.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Message string `json:"message,omitempty"`
}

// TaskFailure describes a task that ended other than as asked.
type TaskFailure struct {
	// task is the name of the failed task.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Task string `json:"task"`

	// state is the task's terminal state.
	// +required
	State TaskState `json:"state"`

	// reason is the task's status.reason.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Reason TaskReason `json:"reason,omitempty"`

	// message is the task's status.message.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Message string `json:"message,omitempty"`

	// exitCode is the task's exit status, if it exited.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=255
	ExitCode *int32 `json:"exitCode,omitempty"`

	// time is when the task failed.
	// +optional
	Time *metav1.Time `json:"time,omitempty"`
}

// AppStatus is what the apps framework observes of an App.
type AppStatus struct {
	// observedGeneration is the generation of the spec the apps framework last
	// acted on.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// instances is how many of the app's tasks exist and are not terminal.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Instances int32 `json:"instances,omitempty"`

	// running is how many of the app's tasks are Running.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Running int32 `json:"running,omitempty"`

	// healthy is how many of the app's tasks are Running and healthy (all Running
	// tasks, when the template has no health check).
	// +optional
	// +kubebuilder:validation:Minimum=0
	Healthy int32 `json:"healthy,omitempty"`

	// staged is how many of the app's tasks are waiting for offers, Staging or
	// Starting.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Staged int32 `json:"staged,omitempty"`

	// deployment is the latest deployment.
	// +optional
	Deployment *AppDeployment `json:"deployment,omitempty"`

	// lastTaskFailure is the latest task of the app that failed.
	// +optional
	LastTaskFailure *TaskFailure `json:"lastTaskFailure,omitempty"`

	// conditions are the app's observed conditions: "Available" and
	// "Progressing".
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// App is a long-running service run by the built-in apps framework (like
// Marathon): it keeps spec.instances tasks of its template running, placed by
// its constraints, and rolls out template changes. `kubectl scale` sets
// spec.instances.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.instances,statuspath=.status.instances
// +kubebuilder:resource:scope=Namespaced,shortName=mapp,categories={meseta,all}
// +kubebuilder:printcolumn:name="Instances",type=integer,JSONPath=`.spec.instances`
// +kubebuilder:printcolumn:name="Running",type=integer,JSONPath=`.status.running`
// +kubebuilder:printcolumn:name="Healthy",type=integer,JSONPath=`.status.healthy`
// +kubebuilder:printcolumn:name="Staged",type=integer,JSONPath=`.status.staged`,priority=1
// +kubebuilder:printcolumn:name="Deployment",type=string,JSONPath=`.status.deployment.phase`,priority=1
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.template.container.image`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type App struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the service: how many instances of which task, where.
	// +required
	Spec AppSpec `json:"spec"`

	// status is what the apps framework observes of the app.
	// +optional
	Status AppStatus `json:"status,omitzero"`
}

// AppList is a list of Apps.
// +kubebuilder:object:root=true
type AppList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the apps.
	Items []App `json:"items"`
}

func init() {
	SchemeBuilder.Register(&App{}, &AppList{})
}
