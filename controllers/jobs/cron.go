package jobs

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/robfig/cron/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/sdk"
)

// DefaultStartingWindow is how late a scheduled run may still start: a run
// whose time passed longer ago (the framework was down, or Forbid held it back)
// is missed, and only the most recent due time ever starts.
const DefaultStartingWindow = time.Minute

// parser reads cron expressions of 5 fields (minute to day of week), 6 fields
// (seconds first), and descriptors such as "@hourly" or "@every 10m".
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseSchedule reads a Job's spec.schedule; the error names the field.
func parseSchedule(s string) (cron.Schedule, error) {
	sched, err := parser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("spec.schedule: %q is not a cron expression or descriptor: %w", s, err)
	}
	return sched, nil
}

// dueRun returns the most recent scheduled time after `after` and no later
// than now that is within window of now (ok false when there is none), and the
// first scheduled time after now (zero when the schedule never fires again).
// All times are in UTC.
func dueRun(s cron.Schedule, after, now time.Time, window time.Duration) (due time.Time, ok bool, next time.Time) {
	after, now = after.UTC(), now.UTC()
	from := after
	if earliest := now.Add(-window); earliest.After(from) {
		from = earliest
	}
	for t := s.Next(from); !t.IsZero() && !t.After(now); t = s.Next(t) {
		due, ok = t, true
	}
	return due, ok, s.Next(now)
}

// runDecision is what a scheduled job does about a due run.
type runDecision struct {
	// start the run.
	start bool
	// replace: delete the active runs first.
	replace bool
}

// decideRun applies the concurrency policy to a due run, given how many runs
// are active.
func decideRun(policy v1alpha1.ConcurrencyPolicy, active int) runDecision {
	switch {
	case active == 0:
		return runDecision{start: true}
	case policy == v1alpha1.ForbidConcurrent:
		return runDecision{}
	case policy == v1alpha1.ReplaceConcurrent:
		return runDecision{start: true, replace: true}
	}
	return runDecision{start: true}
}

// runRef is what a scheduled job reads of one of its runs.
type runRef struct {
	name      string
	scheduled time.Time // from the name's suffix, else creation
	complete  bool
	failed    bool
	finished  time.Time // completion time, or the Failed condition's time
}

func (r runRef) active() bool { return !r.complete && !r.failed }

// refOfRun reads a run.
func refOfRun(j *v1alpha1.Job) runRef {
	r := runRef{name: j.Name, scheduled: j.CreationTimestamp.Time}
	if t, err := time.Parse(time.RFC3339, j.Annotations[AnnotationScheduledAt]); err == nil {
		r.scheduled = t
	}
	for _, c := range j.Status.Conditions {
		if c.Status != metav1.ConditionTrue {
			continue
		}
		switch c.Type {
		case v1alpha1.JobCompleteCondition:
			r.complete, r.finished = true, c.LastTransitionTime.Time
		case v1alpha1.JobFailedCondition:
			r.failed, r.finished = true, c.LastTransitionTime.Time
		}
	}
	if j.Status.CompletionTime != nil && r.complete {
		r.finished = j.Status.CompletionTime.Time
	}
	return r
}

// trimHistory returns the finished runs to delete: all but the newest
// successLimit complete ones and failLimit failed ones.
func trimHistory(runs []runRef, successLimit, failLimit int32) []string {
	var ok, bad []runRef
	for _, r := range runs {
		switch {
		case r.complete:
			ok = append(ok, r)
		case r.failed:
			bad = append(bad, r)
		}
	}
	var out []string
	for _, set := range []struct {
		runs  []runRef
		limit int32
	}{{ok, successLimit}, {bad, failLimit}} {
		slices.SortFunc(set.runs, func(a, b runRef) int { return b.finished.Compare(a.finished) }) // newest first
		for i, r := range set.runs {
			if int32(i) >= max(0, set.limit) {
				out = append(out, r.name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// runName returns the name of the run of parent scheduled at t:
// "<parent>-<unix seconds>".
func runName(parent string, t time.Time) string {
	return sdk.TaskName(parent, strconv.FormatInt(t.Unix(), 10))
}

// newRun returns the run (child Job) of parent scheduled at t: the parent's
// spec less the schedule, owned by the parent.
func newRun(parent *v1alpha1.Job, t time.Time) *v1alpha1.Job {
	run := &v1alpha1.Job{}
	run.Namespace = parent.Namespace
	run.Name = runName(parent.Name, t)
	run.Labels = map[string]string{LabelScheduledBy: string(parent.UID)}
	run.Annotations = map[string]string{AnnotationScheduledAt: t.UTC().Format(time.RFC3339)}
	run.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "Job", Name: parent.Name, UID: parent.UID,
		Controller: ptr.To(true),
	}}
	run.Spec = *parent.Spec.DeepCopy()
	run.Spec.Schedule = ""
	run.Spec.ConcurrencyPolicy = ""
	run.Spec.SuccessfulJobsHistoryLimit = nil
	run.Spec.FailedJobsHistoryLimit = nil
	run.Spec.Suspend = false
	return run
}

// AnnotationScheduledAt is the time a run of a scheduled Job was scheduled
// for, in RFC 3339.
const AnnotationScheduledAt = "meseta.dev/scheduled-at"
