package apps

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

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

// appStatus returns the status of app after plan p, at now. why says why
// waiting instances are not placed (nil when they just wait for their first
// offers, or none waits).
func appStatus(app *v1alpha1.App, spec appSpec, p appPlan, why *explanation, now time.Time) v1alpha1.AppStatus {
	st := *app.Status.DeepCopy()
	c := p.counts
	st.ObservedGeneration = app.Generation
	st.Instances, st.Running, st.Healthy = c.existing, c.running, c.healthy
	st.Staged = c.staged + int32(len(p.launches)) + p.delayed
	st.Deployment = deployment(st.Deployment, spec, p, why, now)
	if f := p.lastFailure; f != nil && (st.LastTaskFailure == nil || st.LastTaskFailure.Time == nil || f.finishedAt.After(st.LastTaskFailure.Time.Time) || f.name == st.LastTaskFailure.Task) {
		st.LastTaskFailure = failureOf(f)
	}
	markAvailable(&st, spec, app.Generation, now)
	markProgressing(&st, app.Generation, now)
	markPlaced(&st, spec, p, why, app.Generation, now)
	return st
}

// deployment returns the deployment of the current version: a new one
// (startedAt now) when the version changed, else prev updated.
func deployment(prev *v1alpha1.AppDeployment, spec appSpec, p appPlan, why *explanation, now time.Time) *v1alpha1.AppDeployment {
	d := &v1alpha1.AppDeployment{ID: spec.version, StartedAt: ptr.To(metav1.NewTime(now))}
	if prev != nil && prev.ID == spec.version {
		d.StartedAt = prev.StartedAt
	}
	c := p.counts
	d.Updated = c.updated
	complete := c.old == 0 && c.updated == spec.instances && c.updatedHealthy == spec.instances && c.existing == spec.instances
	switch {
	case complete:
		d.Phase = v1alpha1.DeploymentComplete
		d.Message = fmt.Sprintf("%s of version %s healthy", instancesWord(int(spec.instances)), spec.version)
	case p.failing >= DeploymentFailedAfter:
		d.Phase = v1alpha1.DeploymentFailed
		d.Message = fmt.Sprintf("%d of %d instances updated, %d healthy; version %s failed %d times in a row%s; relaunching with backoff",
			c.updated, spec.instances, c.updatedHealthy, spec.version, p.failing, lastFailureOf(spec.version, p.lastFailure))
	default:
		d.Phase = v1alpha1.DeploymentProgressing
		d.Message = fmt.Sprintf("%d of %d instances updated, %d healthy; %d old %s left",
			c.updated, spec.instances, c.updatedHealthy, c.old, verb(int(c.old), "task", "tasks"))
		if w := waitingWhy(spec, p, why); w != nil {
			d.Message += "; " + w.message
		}
	}
	return d
}

// lastFailureOf describes t, the App's newest failed task, when it runs
// version: ", last: task web.4 Failed (exit code 1): <message>".
func lastFailureOf(version string, t *taskRef) string {
	if t == nil || t.version != version {
		return ""
	}
	s := fmt.Sprintf(", last: task %s %s", t.name, t.state)
	switch {
	case t.exitCode != nil:
		s += fmt.Sprintf(" (exit code %d)", *t.exitCode)
	case t.reason != "":
		s += fmt.Sprintf(" (%s)", t.reason)
	}
	if t.message != "" {
		s += ": " + t.message
	}
	return s
}

// failureOf records a failed task.
func failureOf(t *taskRef) *v1alpha1.TaskFailure {
	f := &v1alpha1.TaskFailure{Task: t.name, State: t.state, Reason: t.reason, Message: t.message, ExitCode: t.exitCode}
	if !t.finishedAt.IsZero() {
		f.Time = ptr.To(metav1.NewTime(t.finishedAt))
	}
	if f.ExitCode != nil && (*f.ExitCode < 0 || *f.ExitCode > 255) {
		f.ExitCode = nil
	}
	return f
}

// markAvailable sets Available: True while at least the required healthy
// instances run.
func markAvailable(st *v1alpha1.AppStatus, spec appSpec, generation int64, now time.Time) {
	if st.Healthy >= spec.capacity.required {
		setCondition(&st.Conditions, v1alpha1.AppAvailableCondition, metav1.ConditionTrue, v1alpha1.AppMinimumCapacityReason,
			fmt.Sprintf("%d of %d instances healthy, at least the %d minimumHealthCapacity asks for", st.Healthy, spec.instances, spec.capacity.required), generation, now)
		return
	}
	setCondition(&st.Conditions, v1alpha1.AppAvailableCondition, metav1.ConditionFalse, v1alpha1.AppInsufficientCapacityReason,
		fmt.Sprintf("%d of %d instances healthy, fewer than the %d minimumHealthCapacity asks for", st.Healthy, spec.instances, spec.capacity.required), generation, now)
}

// markProgressing sets Progressing from the deployment's phase: True while it
// progresses, False once it is complete or has failed.
func markProgressing(st *v1alpha1.AppStatus, generation int64, now time.Time) {
	d := st.Deployment
	switch d.Phase {
	case v1alpha1.DeploymentComplete:
		setCondition(&st.Conditions, v1alpha1.AppProgressingCondition, metav1.ConditionFalse, v1alpha1.AppDeploymentCompleteReason,
			"deployment "+d.ID+" is complete: "+d.Message, generation, now)
		return
	case v1alpha1.DeploymentFailed:
		setCondition(&st.Conditions, v1alpha1.AppProgressingCondition, metav1.ConditionFalse, v1alpha1.AppDeploymentFailedReason,
			"deployment "+d.ID+" failed: "+d.Message, generation, now)
		return
	}
	setCondition(&st.Conditions, v1alpha1.AppProgressingCondition, metav1.ConditionTrue, v1alpha1.AppDeploymentInProgressReason,
		"deployment "+d.ID+": "+d.Message, generation, now)
}

// markPlaced sets Placed: True when no instance waits for a task, else False
// with why.
func markPlaced(st *v1alpha1.AppStatus, spec appSpec, p appPlan, why *explanation, generation int64, now time.Time) {
	w := waitingWhy(spec, p, why)
	if w == nil {
		setCondition(&st.Conditions, v1alpha1.AppPlacedCondition, metav1.ConditionTrue, v1alpha1.AppAllPlacedReason,
			"every instance has a task", generation, now)
		return
	}
	setCondition(&st.Conditions, v1alpha1.AppPlacedCondition, metav1.ConditionFalse, w.reason, w.message, generation, now)
}

// waitingWhy says why instances wait, or nil when none does.
func waitingWhy(spec appSpec, p appPlan, why *explanation) *explanation {
	switch {
	case p.delayed > 0:
		return &explanation{v1alpha1.AppBackingOffReason, fmt.Sprintf("%s delayed until %s after %d %s in a row",
			instancesWord(int(p.delayed)), p.launchAt.UTC().Format(time.RFC3339), p.streak, verb(int(p.streak), "failure", "failures"))}
	case len(p.launches) == 0:
		return nil
	case why != nil:
		return why
	}
	return &explanation{v1alpha1.AppWaitingForOffersReason, fmt.Sprintf("waiting for offers: %s to launch", instancesWord(len(p.launches)))}
}
