package jobs

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/apis/v1alpha1"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// tk is a task at index i, attempt a, in state s, ended at finished seconds
// after t0.
func tk(i, a int32, s v1alpha1.TaskState, finished int) taskRef {
	r := taskRef{name: taskNameFor(i, a), index: i, attempt: a, state: s}
	if s.IsTerminal() {
		r.finished = t0.Add(time.Duration(finished) * time.Second)
	}
	return r
}

func taskNameFor(i, a int32) string { return "j-" + string(rune('0'+i)) + "-" + string(rune('0'+a)) }

func TestBackoffDelay(t *testing.T) {
	b := Backoff{Initial: time.Second, Max: 10 * time.Second}
	tests := []struct {
		failed int32
		want   time.Duration
	}{{0, 0}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {100, 10 * time.Second}}
	for _, tt := range tests {
		NewWithT(t).Expect(b.Delay(tt.failed)).To(Equal(tt.want), "failed=%d", tt.failed)
	}
	NewWithT(t).Expect(Backoff{}.Delay(3)).To(BeZero())
}

func TestFailureCounting(t *testing.T) {
	tests := []struct {
		name   string
		state  v1alpha1.TaskState
		reason v1alpha1.TaskReason
		want   bool
	}{
		{"running", v1alpha1.TaskRunning, "", false},
		{"finished", v1alpha1.TaskFinished, "", false},
		{"failed", v1alpha1.TaskFailed, v1alpha1.ReasonCommandExecutorFailed, true},
		{"oom", v1alpha1.TaskFailed, v1alpha1.ReasonContainerLimitation, true},
		{"error", v1alpha1.TaskError, v1alpha1.ReasonTaskInvalid, true},
		{"lost", v1alpha1.TaskLost, v1alpha1.ReasonContainerVanished, true},
		{"gone", v1alpha1.TaskGone, v1alpha1.ReasonAgentRemoved, true},
		{"dropped: never ran", v1alpha1.TaskDropped, v1alpha1.ReasonInvalidOffers, false},
		{"killed on request", v1alpha1.TaskKilled, v1alpha1.ReasonKillRequested, false},
		{"killed by a drain", v1alpha1.TaskKilled, v1alpha1.ReasonAgentDrained, false},
		{"killed by a health check", v1alpha1.TaskKilled, v1alpha1.ReasonHealthCheckFailed, true},
		{"unreachable is not terminal", v1alpha1.TaskUnreachable, v1alpha1.ReasonAgentDisconnected, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(taskRef{state: tt.state, reason: tt.reason}.failure()).To(Equal(tt.want))
		})
	}
}

func TestPlanRun(t *testing.T) {
	backoff := Backoff{Initial: 10 * time.Second, Max: time.Minute}
	spec := func(completions, parallelism, backoffLimit int32) runSpec {
		return runSpec{completions: completions, parallelism: parallelism, backoffLimit: backoffLimit}
	}
	started := t0.Add(-time.Minute)
	tests := []struct {
		name     string
		spec     runSpec
		tasks    []taskRef
		finished bool
		now      time.Time
		want     runPlan
	}{
		{
			name: "new job launches parallelism tasks, lowest indices",
			spec: spec(5, 2, 3), now: t0,
			want: runPlan{launches: []launch{{0, 0}, {1, 0}}},
		},
		{
			name: "fills the free slot with the next index",
			spec: spec(5, 2, 3), now: t0,
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskFinished, 0), tk(1, 0, v1alpha1.TaskRunning, 0)},
			want:  runPlan{active: 1, succeeded: 1, launches: []launch{{2, 0}}},
		},
		{
			name: "all slots busy",
			spec: spec(5, 2, 3), now: t0,
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskStaging, 0), tk(1, 0, v1alpha1.TaskRunning, 0)},
			want:  runPlan{active: 2},
		},
		{
			name: "complete",
			spec: spec(2, 2, 3), now: t0,
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskFinished, 0), tk(1, 1, v1alpha1.TaskFinished, 0), tk(1, 0, v1alpha1.TaskFailed, 0)},
			want:  runPlan{succeeded: 2, failed: 1, complete: true},
		},
		{
			name: "failed index waits for the backoff",
			spec: spec(1, 1, 3), now: t0.Add(4 * time.Second),
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskFailed, 0)},
			want:  runPlan{failed: 1, requeueAfter: 6 * time.Second},
		},
		{
			name: "failed index retried after the backoff with the next attempt",
			spec: spec(1, 1, 3), now: t0.Add(10 * time.Second),
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskFailed, 0)},
			want:  runPlan{failed: 1, launches: []launch{{0, 1}}},
		},
		{
			name: "backoff doubles with the job's failures",
			spec: spec(1, 1, 3), now: t0.Add(15 * time.Second),
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskFailed, -30), tk(0, 1, v1alpha1.TaskFailed, 0)},
			want:  runPlan{failed: 2, requeueAfter: 5 * time.Second},
		},
		{
			name: "other indices do not wait for a failed one",
			spec: spec(3, 2, 3), now: t0.Add(time.Second),
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskFailed, 0)},
			want:  runPlan{failed: 1, launches: []launch{{1, 0}, {2, 0}}, requeueAfter: 9 * time.Second},
		},
		{
			name: "backoff limit exceeded: failed, active tasks killed",
			spec: spec(2, 2, 1), now: t0,
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskFailed, 0), tk(0, 1, v1alpha1.TaskFailed, 0), tk(1, 0, v1alpha1.TaskRunning, 0)},
			want: runPlan{active: 1, failed: 2, failedReason: v1alpha1.JobBackoffLimitExceededReason,
				failedMessage: "Job has 2 failed tasks, more than its backoffLimit of 1", kill: []string{"j-1-0"}},
		},
		{
			name: "backoff limit reached but not exceeded",
			spec: spec(1, 1, 1), now: t0.Add(time.Hour),
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskFailed, 0)},
			want:  runPlan{failed: 1, launches: []launch{{0, 1}}},
		},
		{
			name: "dropped and killed tasks are retried at once, not counted",
			spec: spec(2, 2, 0), now: t0,
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskDropped, 0), {name: "j-1-0", index: 1, state: v1alpha1.TaskKilled, reason: v1alpha1.ReasonKillRequested}},
			want:  runPlan{launches: []launch{{0, 1}, {1, 1}}},
		},
		{
			name: "a task being killed still holds its slot",
			spec: spec(2, 1, 0), now: t0,
			tasks: []taskRef{{name: "j-0-0", index: 0, state: v1alpha1.TaskRunning, deleting: true}},
			want:  runPlan{active: 1},
		},
		{
			name: "suspended: active tasks killed, nothing launched",
			spec: runSpec{completions: 3, parallelism: 2, backoffLimit: 1, suspend: true}, now: t0,
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskRunning, 0), {name: "j-1-0", index: 1, state: v1alpha1.TaskRunning, deleting: true}},
			want:  runPlan{active: 2, kill: []string{"j-0-0"}},
		},
		{
			name: "deadline passed: failed, killed",
			spec: runSpec{completions: 3, parallelism: 1, backoffLimit: 1, deadline: time.Minute}, now: t0,
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskRunning, 0)},
			want: runPlan{active: 1, failedReason: v1alpha1.JobDeadlineExceededReason,
				failedMessage: "Job ran longer than its activeDeadlineSeconds of 60", kill: []string{"j-0-0"}},
		},
		{
			name: "deadline ahead: requeue at it",
			spec: runSpec{completions: 3, parallelism: 1, backoffLimit: 1, deadline: 2 * time.Minute}, now: t0,
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskRunning, 0)},
			want:  runPlan{active: 1, requeueAfter: time.Minute},
		},
		{
			name: "finished already: only stragglers killed", finished: true,
			spec: spec(1, 2, 0), now: t0,
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskFailed, 0), tk(1, 0, v1alpha1.TaskRunning, 0)},
			want:  runPlan{active: 1, failed: 1, kill: []string{"j-1-0"}},
		},
		{
			name: "duplicate successes at one index count once",
			spec: spec(2, 1, 0), now: t0,
			tasks: []taskRef{tk(0, 0, v1alpha1.TaskFinished, 0), tk(0, 1, v1alpha1.TaskFinished, 0)},
			want:  runPlan{succeeded: 1, launches: []launch{{1, 0}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := started
			got := planRun(tt.spec, tt.tasks, tt.finished, &s, tt.now, backoff)
			g.Expect(got).To(Equal(tt.want))
		})
	}
}
