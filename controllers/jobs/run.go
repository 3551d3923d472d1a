package jobs

import (
	"slices"
	"strconv"
	"time"

	"k8s.io/utils/ptr"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Labels and annotations the jobs framework puts on the tasks it launches.
const (
	// LabelJobUID is the UID of the Job a task belongs to.
	LabelJobUID = "meseta.dev/job-uid"
	// LabelIndex is the completion index of a task (0 to completions-1).
	LabelIndex = "meseta.dev/job-index"
	// LabelAttempt is the attempt number of a task at its index (0, 1, ...).
	LabelAttempt = "meseta.dev/job-attempt"
	// AnnotationJob is the name of the Job a task belongs to (names may be
	// longer than a label value).
	AnnotationJob = "meseta.dev/job"
	// LabelScheduledBy is set on the runs (child Jobs) of a scheduled Job to the
	// parent's UID.
	LabelScheduledBy = "meseta.dev/scheduled-by"
)

// Backoff is how long a job waits before it launches a task again at an index
// whose last task failed: Initial after the first failure of the job, doubled
// for each further one, at most Max.
type Backoff struct {
	// Initial is the first delay.
	Initial time.Duration
	// Max is the longest delay.
	Max time.Duration
}

// Delay returns the delay after failed failures (none for zero).
func (b Backoff) Delay(failed int32) time.Duration {
	if failed <= 0 || b.Initial <= 0 {
		return 0
	}
	d := b.Initial
	for i := int32(1); i < failed; i++ {
		d *= 2
		if b.Max > 0 && d >= b.Max {
			return b.Max
		}
	}
	if b.Max > 0 && d > b.Max {
		return b.Max
	}
	return d
}

// taskRef is what the jobs framework reads of one of a job's tasks.
type taskRef struct {
	name     string
	index    int32
	attempt  int32
	state    v1alpha1.TaskState
	reason   v1alpha1.TaskReason
	deleting bool
	finished time.Time // when it reached a terminal state (zero if unknown)
}

// active reports whether the task still holds resources or may still run.
func (t taskRef) active() bool { return !t.state.IsTerminal() }

// succeeded reports whether the task finished successfully.
func (t taskRef) succeeded() bool { return t.state == v1alpha1.TaskFinished }

// failure reports whether the task counts against the backoff limit: it ended
// in a terminal state other than Finished, except for tasks that never ran
// (Dropped: the offers were taken back) and tasks killed on request (by
// suspend, a deadline, a Replace, a user deleting it, or a drain), which are
// launched again without counting.
func (t taskRef) failure() bool {
	switch {
	case !t.state.IsTerminal(), t.state == v1alpha1.TaskFinished, t.state == v1alpha1.TaskDropped:
		return false
	case t.state == v1alpha1.TaskKilled && (t.reason == v1alpha1.ReasonKillRequested || t.reason == v1alpha1.ReasonAgentDrained):
		return false
	}
	return true
}

// refOf reads a job's task; false when it lacks the framework's labels.
func refOf(t *v1alpha1.Task) (taskRef, bool) {
	index, err1 := strconv.ParseInt(t.Labels[LabelIndex], 10, 32)
	attempt, err2 := strconv.ParseInt(t.Labels[LabelAttempt], 10, 32)
	if err1 != nil || err2 != nil || index < 0 || attempt < 0 {
		return taskRef{}, false
	}
	r := taskRef{
		name: t.Name, index: int32(index), attempt: int32(attempt),
		state: t.Status.State, reason: t.Status.Reason, deleting: t.DeletionTimestamp != nil,
	}
	switch {
	case t.Status.FinishedAt != nil:
		r.finished = t.Status.FinishedAt.Time
	case r.state.IsTerminal():
		r.finished = t.CreationTimestamp.Time
	}
	return r, true
}

// launch is a task the job wants launched now.
type launch struct {
	index, attempt int32
}

// runPlan is what a job (a run, not a scheduled parent) should do now.
type runPlan struct {
	// Counts for status.
	active, succeeded, failed int32
	// complete: enough tasks succeeded.
	complete bool
	// failedReason is set when the job gave up: backoff limit or deadline.
	failedReason, failedMessage string
	// launches are the tasks to launch now, lowest index first.
	launches []launch
	// kill are the active tasks to kill (suspended, complete or failed).
	kill []string
	// requeueAfter is when to look again (a backoff or the deadline ends); zero
	// for never.
	requeueAfter time.Duration
}

// runSpec is the part of a JobSpec planning needs, defaults applied.
type runSpec struct {
	completions, parallelism, backoffLimit int32
	deadline                               time.Duration // 0: none
	suspend                                bool
}

// specOf applies the API defaults to a job's spec.
func specOf(s *v1alpha1.JobSpec) runSpec {
	r := runSpec{
		completions:  max(1, ptr.Deref(s.Completions, 1)),
		parallelism:  max(1, ptr.Deref(s.Parallelism, 1)),
		backoffLimit: max(0, ptr.Deref(s.BackoffLimit, 6)),
		suspend:      s.Suspend,
	}
	if s.ActiveDeadlineSeconds != nil && *s.ActiveDeadlineSeconds > 0 {
		r.deadline = time.Duration(*s.ActiveDeadlineSeconds) * time.Second
	}
	return r
}

// planRun decides what a job does now, from its spec, its tasks, whether it
// finished already (its Complete or Failed condition), when it started, and
// the time. Indices are completed in order: each launch is at the lowest index
// that has neither succeeded nor an active task, with the next attempt number,
// at most parallelism tasks active; an index whose last task failed waits for
// the backoff.
func planRun(spec runSpec, tasks []taskRef, finished bool, started *time.Time, now time.Time, backoff Backoff) runPlan {
	var p runPlan
	type indexState struct {
		succeeded, active bool
		lastAttempt       int32
		lastFailed        bool
	}
	byIndex := map[int32]*indexState{}
	var lastFailure time.Time
	slices.SortFunc(tasks, func(a, b taskRef) int {
		if a.index != b.index {
			return int(a.index - b.index)
		}
		return int(a.attempt - b.attempt)
	})
	for _, t := range tasks {
		s := byIndex[t.index]
		if s == nil {
			s = &indexState{lastAttempt: -1}
			byIndex[t.index] = s
		}
		s.lastAttempt = max(s.lastAttempt, t.attempt)
		s.lastFailed = t.failure() // tasks are sorted by attempt
		switch {
		case t.active():
			s.active = true
			p.active++
		case t.succeeded():
			if !s.succeeded && t.index < spec.completions {
				p.succeeded++
			}
			s.succeeded = true
		case t.failure():
			p.failed++
			if t.finished.After(lastFailure) {
				lastFailure = t.finished
			}
		}
	}
	killActive := func() {
		for _, t := range tasks {
			if t.active() && !t.deleting {
				p.kill = append(p.kill, t.name)
			}
		}
	}
	switch {
	case finished:
		// Complete or Failed never changes; stragglers are killed.
		killActive()
		return p
	case p.succeeded >= spec.completions:
		p.complete = true
		killActive()
		return p
	case p.failed > spec.backoffLimit:
		p.failedReason = v1alpha1.JobBackoffLimitExceededReason
		p.failedMessage = "Job has " + strconv.Itoa(int(p.failed)) + " failed tasks, more than its backoffLimit of " + strconv.Itoa(int(spec.backoffLimit))
		killActive()
		return p
	case spec.deadline > 0 && started != nil && !now.Before(started.Add(spec.deadline)):
		p.failedReason = v1alpha1.JobDeadlineExceededReason
		p.failedMessage = "Job ran longer than its activeDeadlineSeconds of " + strconv.Itoa(int(spec.deadline/time.Second))
		killActive()
		return p
	case spec.suspend:
		killActive()
		return p
	}
	if spec.deadline > 0 && started != nil {
		p.requeueAfter = started.Add(spec.deadline).Sub(now)
	}
	slots := spec.parallelism - p.active
	for i := int32(0); i < spec.completions && slots > 0; i++ {
		s := byIndex[i]
		if s == nil {
			p.launches = append(p.launches, launch{index: i})
			slots--
			continue
		}
		if s.succeeded || s.active {
			continue
		}
		if s.lastFailed {
			if wait := lastFailure.Add(backoff.Delay(p.failed)).Sub(now); wait > 0 {
				p.requeueAfter = minPositive(p.requeueAfter, wait)
				continue
			}
		}
		p.launches = append(p.launches, launch{index: i, attempt: s.lastAttempt + 1})
		slots--
	}
	return p
}

// minPositive returns the smaller of a and b, ignoring zeros.
func minPositive(a, b time.Duration) time.Duration {
	switch {
	case a <= 0:
		return b
	case b <= 0:
		return a
	}
	return min(a, b)
}
