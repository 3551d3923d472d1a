package jobs

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

// setCondition sets a condition; its transition time is now when its status
// changes, and kept otherwise.
func setCondition(conds *[]metav1.Condition, typ string, status metav1.ConditionStatus, reason, message string, generation int64, now time.Time) {
	meta.SetStatusCondition(conds, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: message,
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now),
	})
}

// markComplete makes the job Complete (for good) and records when.
func markComplete(st *v1alpha1.JobStatus, completions int32, generation int64, now time.Time) {
	if meta.IsStatusConditionTrue(st.Conditions, v1alpha1.JobCompleteCondition) {
		return
	}
	msg := fmt.Sprintf("%d of %d tasks succeeded", st.Succeeded, completions)
	setCondition(&st.Conditions, v1alpha1.JobCompleteCondition, metav1.ConditionTrue, v1alpha1.JobCompletionsReachedReason, msg, generation, now)
	t := metav1.NewTime(now)
	st.CompletionTime = &t
}

// markFailed makes the job Failed (for good) with a reason and message.
func markFailed(st *v1alpha1.JobStatus, reason, message string, generation int64, now time.Time) {
	if meta.IsStatusConditionTrue(st.Conditions, v1alpha1.JobFailedCondition) {
		return
	}
	setCondition(&st.Conditions, v1alpha1.JobFailedCondition, metav1.ConditionTrue, reason, message, generation, now)
}

// markSuspended sets the Suspended condition: True while suspended; False
// (JobResumed) once resumed; absent for a job never suspended.
func markSuspended(st *v1alpha1.JobStatus, suspended bool, generation int64, now time.Time) {
	switch {
	case suspended:
		setCondition(&st.Conditions, v1alpha1.JobSuspendedCondition, metav1.ConditionTrue, v1alpha1.JobSuspendedReason, "Job is suspended", generation, now)
	case meta.FindStatusCondition(st.Conditions, v1alpha1.JobSuspendedCondition) != nil:
		setCondition(&st.Conditions, v1alpha1.JobSuspendedCondition, metav1.ConditionFalse, v1alpha1.JobResumedReason, "Job was resumed", generation, now)
	}
}

// runStatus returns the status of a run (a Job without a schedule) after plan
// p, at now. Once the job is Complete or Failed, its succeeded and failed
// counts are frozen (its tasks may be deleted later); active keeps counting
// the tasks still being killed. startTime is set when the first task is
// launched and cleared while the job is suspended with nothing active, so that
// activeDeadlineSeconds counts from the resume.
func runStatus(job *v1alpha1.Job, p runPlan, now time.Time) v1alpha1.JobStatus {
	st := *job.Status.DeepCopy()
	spec := specOf(&job.Spec)
	st.ObservedGeneration = job.Generation
	st.Active = p.active
	if !job.IsFinished() {
		st.Succeeded, st.Failed = p.succeeded, p.failed
	}
	switch {
	case job.IsFinished():
	case p.complete:
		markComplete(&st, spec.completions, job.Generation, now)
	case p.failedReason != "":
		markFailed(&st, p.failedReason, p.failedMessage, job.Generation, now)
	case spec.suspend && p.active == 0:
		st.StartTime = nil
	case st.StartTime == nil && (len(p.launches) > 0 || p.active > 0):
		t := metav1.NewTime(now)
		st.StartTime = &t
	}
	if !job.IsFinished() {
		markSuspended(&st, spec.suspend, job.Generation, now)
	}
	return st
}
