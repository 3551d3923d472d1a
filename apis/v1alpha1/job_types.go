package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConcurrencyPolicy says what a scheduled Job does when a run is due while the
// previous one is still active.
// +kubebuilder:validation:Enum=Allow;Forbid;Replace
type ConcurrencyPolicy string

// Concurrency policies.
const (
	// AllowConcurrent starts the new run alongside the active ones.
	AllowConcurrent ConcurrencyPolicy = "Allow"
	// ForbidConcurrent skips the new run while one is active.
	ForbidConcurrent ConcurrencyPolicy = "Forbid"
	// ReplaceConcurrent kills the active run and starts the new one.
	ReplaceConcurrent ConcurrencyPolicy = "Replace"
)

// JobSpec is a run-to-completion workload: how many tasks must succeed, how many
// run at once, how many may fail, and optionally a cron schedule.
// +kubebuilder:validation:XValidation:rule="has(self.schedule) == has(oldSelf.schedule)",message="schedule cannot be added to or removed from an existing Job",fieldPath=".schedule"
// +kubebuilder:validation:XValidation:rule="has(self.schedule) || self.template == oldSelf.template",message="template is immutable unless the Job has a schedule",fieldPath=".template"
type JobSpec struct {
	// completions is how many tasks must finish successfully (state Finished) for
	// the job to be Complete. Defaults to 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	Completions *int32 `json:"completions,omitempty"`

	// parallelism is the most tasks that run at once. Defaults to 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	Parallelism *int32 `json:"parallelism,omitempty"`

	// backoffLimit is how many failed tasks the job tolerates; one more and the
	// job is Failed. Defaults to 6.
	// +optional
	// +kubebuilder:default=6
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100000
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`

	// activeDeadlineSeconds, when set, is how long a run may take from its start,
	// in seconds; past it, its tasks are killed and the run is Failed.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`

	// schedule, when set, makes the job periodic (like Chronos or a CronJob): a
	// cron expression ("*/5 * * * *", evaluated in UTC) or a descriptor such as
	// "@hourly" or "@every 10m". At each scheduled time the jobs framework creates
	// a run: a child Job, owned by this one and named after it and the scheduled
	// time, with this spec less the schedule. Cannot be added or removed later.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|@every [0-9][0-9a-zµμ.]*|[^\s@]+(\s+[^\s@]+){4,5})$`
	Schedule string `json:"schedule,omitempty"`

	// concurrencyPolicy says what happens when a scheduled run is due while the
	// previous one is still active: Allow (run both), Forbid (skip the new one)
	// or Replace (kill the old one). Only used with schedule. Defaults to Allow.
	// +optional
	// +kubebuilder:default=Allow
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`

	// successfulJobsHistoryLimit is how many successful runs of a scheduled job
	// are kept. Defaults to 3.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	SuccessfulJobsHistoryLimit *int32 `json:"successfulJobsHistoryLimit,omitempty"`

	// failedJobsHistoryLimit is how many failed runs of a scheduled job are kept.
	// Defaults to 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	FailedJobsHistoryLimit *int32 `json:"failedJobsHistoryLimit,omitempty"`

	// suspend, when true, stops the job: no new tasks are launched and active ones
	// are killed; a scheduled job starts no new runs. Setting it back to false
	// resumes.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// template is the task the job runs. Immutable, unless the job has a schedule
	// (a change then applies to the next run).
	// +required
	Template TaskTemplate `json:"template"`
}

// JobStatus is what the jobs framework observes of a Job.
type JobStatus struct {
	// observedGeneration is the generation of the spec the jobs framework last
	// acted on.
	// +optional
	// +kubebuilder:validation:Minimum=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// active is how many of the job's tasks are not terminal.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Active int32 `json:"active,omitempty"`

	// succeeded is how many of the job's tasks Finished.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Succeeded int32 `json:"succeeded,omitempty"`

	// failed is how many of the job's tasks ended in another terminal state.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Failed int32 `json:"failed,omitempty"`

	// startTime is when the job started its first task.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// completionTime is when the job became Complete.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`

	// lastScheduleTime is when a scheduled job last started a run.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`

	// lastSuccessfulTime is when a run of a scheduled job last completed.
	// +optional
	LastSuccessfulTime *metav1.Time `json:"lastSuccessfulTime,omitempty"`

	// activeRuns are the names of the child Jobs of a scheduled job that are
	// neither Complete nor Failed.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=253
	ActiveRuns []string `json:"activeRuns,omitempty"`

	// conditions are the job's observed conditions: "Complete", "Failed" and
	// "Suspended".
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// Job is a run-to-completion workload run by the built-in jobs framework (like
// Chronos or Metronome): it launches tasks of its template until completions of
// them finish successfully, at most parallelism at once, giving up after
// backoffLimit failures. With a schedule it runs periodically instead.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Namespaced,shortName=mjob,categories={meseta,all}
// +kubebuilder:printcolumn:name="Completions",type=integer,JSONPath=`.spec.completions`
// +kubebuilder:printcolumn:name="Succeeded",type=integer,JSONPath=`.status.succeeded`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.failed`
// +kubebuilder:printcolumn:name="Active",type=integer,JSONPath=`.status.active`
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Suspend",type=boolean,JSONPath=`.spec.suspend`,priority=1
// +kubebuilder:printcolumn:name="Last Schedule",type=date,JSONPath=`.status.lastScheduleTime`,priority=1
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.template.container.image`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Job struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the workload: how many tasks must succeed, how many at once, how
	// many may fail, and when to run.
	// +required
	Spec JobSpec `json:"spec"`

	// status is what the jobs framework observes of the job.
	// +optional
	Status JobStatus `json:"status,omitzero"`
}

// JobList is a list of Jobs.
// +kubebuilder:object:root=true
type JobList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the jobs.
	Items []Job `json:"items"`
}

// IsFinished reports whether the job's Complete or Failed condition is True.
func (j *Job) IsFinished() bool {
	for _, c := range j.Status.Conditions {
		if (c.Type == JobCompleteCondition || c.Type == JobFailedCondition) && c.Status == metav1.ConditionTrue {
			return true
		}
	}
	return false
}

func init() {
	SchemeBuilder.Register(&Job{}, &JobList{})
}
