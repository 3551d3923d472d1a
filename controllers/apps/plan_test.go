package apps

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/apis/v1alpha1"
)

var t0 = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// tk returns task seq of version v in state, healthy when Running.
func tk(seq int, v string, state v1alpha1.TaskState) taskRef {
	return taskRef{name: taskName("web", seq), seq: seq, version: v, state: state, healthy: state == v1alpha1.TaskRunning}
}

func with(t taskRef, mutate func(*taskRef)) taskRef {
	mutate(&t)
	return t
}

// failed returns task seq of version v that failed at t0+at, with the
// inherited streak failures.
func failed(seq int, v string, failures int32, at time.Duration) taskRef {
	t := tk(seq, v, v1alpha1.TaskFailed)
	t.failures, t.finishedAt = failures, t0.Add(at)
	return t
}

func TestPlanApp(t *testing.T) {
	spec := func(instances int32, capa capacity) appSpec {
		return appSpec{instances: instances, version: "v1", capacity: capa,
			backoff: backoff{initial: 10 * time.Second, max: time.Minute, factor: 2, resetAfter: time.Minute}}
	}
	full := func(n int32) capacity { return capacity{required: n, minHealthy: n, maxTotal: 2 * n} }
	tests := []struct {
		name  string
		spec  appSpec
		tasks []taskRef
		now   time.Duration
		want  appPlan
	}{
		{
			name: "new app launches its instances",
			spec: spec(3, full(3)),
			want: appPlan{launches: []launch{{0, 0}, {1, 0}, {2, 0}}},
		},
		{
			name:  "steady: nothing to do",
			spec:  spec(2, full(2)),
			tasks: []taskRef{tk(0, "v1", v1alpha1.TaskRunning), tk(1, "v1", v1alpha1.TaskRunning)},
			want:  appPlan{counts: counts{existing: 2, running: 2, healthy: 2, updated: 2, updatedHealthy: 2}},
		},
		{
			name:  "scale up: next sequence numbers",
			spec:  spec(3, full(3)),
			tasks: []taskRef{tk(4, "v1", v1alpha1.TaskRunning)},
			want:  appPlan{launches: []launch{{5, 0}, {6, 0}}, counts: counts{existing: 1, running: 1, healthy: 1, updated: 1, updatedHealthy: 1}},
		},
		{
			name: "scale down kills staged and unhealthy first, then the newest",
			spec: spec(1, full(1)),
			tasks: []taskRef{tk(0, "v1", v1alpha1.TaskRunning), tk(1, "v1", v1alpha1.TaskRunning),
				tk(2, "v1", v1alpha1.TaskStaging), with(tk(3, "v1", v1alpha1.TaskRunning), func(t *taskRef) { t.healthy = false })},
			want: appPlan{kill: []string{"web.3", "web.2", "web.1"},
				counts: counts{existing: 4, running: 3, healthy: 2, staged: 1, updated: 4, updatedHealthy: 2}},
		},
		{
			name:  "scale to zero",
			spec:  spec(0, capacity{}),
			tasks: []taskRef{tk(0, "v1", v1alpha1.TaskRunning)},
			want:  appPlan{kill: []string{"web.0"}, counts: counts{existing: 1, running: 1, healthy: 1, updated: 1, updatedHealthy: 1}},
		},
		{
			name:  "a task being killed holds its resources, not an instance",
			spec:  spec(2, capacity{required: 1, minHealthy: 1, maxTotal: 2}),
			tasks: []taskRef{tk(0, "v1", v1alpha1.TaskRunning), with(tk(1, "v1", v1alpha1.TaskRunning), func(t *taskRef) { t.deleting = true })},
			want:  appPlan{counts: counts{existing: 2, running: 2, healthy: 1, updated: 1, updatedHealthy: 1}},
		},
		{
			name:  "failed task: replaced after the backoff, inheriting the streak",
			spec:  spec(2, full(2)),
			tasks: []taskRef{tk(0, "v1", v1alpha1.TaskRunning), failed(1, "v1", 0, 0)},
			now:   10 * time.Second,
			want: appPlan{launches: []launch{{2, 1}}, streak: 1, failing: 1,
				counts: counts{existing: 1, running: 1, healthy: 1, updated: 1, updatedHealthy: 1}},
		},
		{
			name:  "failed task: waits for the backoff",
			spec:  spec(2, full(2)),
			tasks: []taskRef{tk(0, "v1", v1alpha1.TaskRunning), failed(1, "v1", 1, 0)},
			now:   5 * time.Second,
			want: appPlan{delayed: 1, streak: 2, failing: 2, requeueAfter: 15 * time.Second, launchAt: t0.Add(20 * time.Second),
				counts: counts{existing: 1, running: 1, healthy: 1, updated: 1, updatedHealthy: 1}},
		},
		{
			name:  "replaced failure is cleaned up once the replacement carries its streak",
			spec:  spec(1, full(1)),
			tasks: []taskRef{failed(0, "v1", 0, 0), with(tk(1, "v1", v1alpha1.TaskRunning), func(t *taskRef) { t.failures = 1 })},
			now:   time.Hour,
			want: appPlan{cleanup: []string{"web.0"}, streak: 1,
				counts: counts{existing: 1, running: 1, healthy: 1, updated: 1, updatedHealthy: 1}},
		},
		{
			name:  "a failure newer than its successor's launch is kept",
			spec:  spec(2, full(2)),
			tasks: []taskRef{failed(0, "v1", 0, 0), tk(1, "v1", v1alpha1.TaskRunning)},
			now:   time.Hour,
			want: appPlan{launches: []launch{{2, 1}}, streak: 1, failing: 1,
				counts: counts{existing: 1, running: 1, healthy: 1, updated: 1, updatedHealthy: 1}},
		},
		{
			name: "a relaunch after failures is failing until it is healthy",
			spec: spec(2, full(2)),
			tasks: []taskRef{tk(0, "v1", v1alpha1.TaskRunning), with(tk(4, "v1", v1alpha1.TaskStarting), func(t *taskRef) { t.failures = 3 }),
				with(tk(5, "v0", v1alpha1.TaskStarting), func(t *taskRef) { t.failures = 7 })},
			want: appPlan{failing: 3, kill: []string{"web.5"},
				counts: counts{existing: 3, running: 1, healthy: 1, staged: 2, updated: 2, updatedHealthy: 1, old: 1}},
		},
		{
			name:  "failures of an old version do not back the new one off",
			spec:  spec(1, full(1)),
			tasks: []taskRef{failed(0, "v0", 5, 0)},
			want:  appPlan{launches: []launch{{1, 0}}},
		},
		{
			name:  "killed on request: replaced at once",
			spec:  spec(1, full(1)),
			tasks: []taskRef{with(tk(0, "v1", v1alpha1.TaskKilled), func(t *taskRef) { t.reason = v1alpha1.ReasonKillRequested })},
			want:  appPlan{launches: []launch{{1, 0}}},
		},
		{
			name:  "unreachable: killed and replaced",
			spec:  spec(1, full(1)),
			tasks: []taskRef{tk(0, "v1", v1alpha1.TaskUnreachable)},
			want:  appPlan{launches: []launch{{1, 0}}, kill: []string{"web.0"}, counts: counts{existing: 1}},
		},
		{
			name:  "upgrade with room: new tasks first, old kept healthy",
			spec:  spec(2, full(2)),
			tasks: []taskRef{tk(0, "v0", v1alpha1.TaskRunning), tk(1, "v0", v1alpha1.TaskRunning)},
			want:  appPlan{launches: []launch{{2, 0}, {3, 0}}, counts: counts{existing: 2, running: 2, healthy: 2, old: 2}},
		},
		{
			name: "upgrade: old killed as new become healthy, oldest first",
			spec: spec(2, full(2)),
			tasks: []taskRef{tk(0, "v0", v1alpha1.TaskRunning), tk(1, "v0", v1alpha1.TaskRunning),
				tk(2, "v1", v1alpha1.TaskRunning), tk(3, "v1", v1alpha1.TaskStaging)},
			want: appPlan{kill: []string{"web.0"}, counts: counts{existing: 4, running: 3, healthy: 3, staged: 1, old: 2, updated: 2, updatedHealthy: 1}},
		},
		{
			name:  "upgrade without room: kill down to the minimum first",
			spec:  spec(3, capacity{required: 2, minHealthy: 2, maxTotal: 3}),
			tasks: []taskRef{tk(0, "v0", v1alpha1.TaskRunning), tk(1, "v0", v1alpha1.TaskRunning), tk(2, "v0", v1alpha1.TaskRunning)},
			want:  appPlan{kill: []string{"web.0"}, counts: counts{existing: 3, running: 3, healthy: 3, old: 3}},
		},
		{
			name: "upgrade: unhealthy old tasks go at once",
			spec: spec(2, full(2)),
			tasks: []taskRef{tk(0, "v0", v1alpha1.TaskStaging), tk(1, "v0", v1alpha1.TaskRunning),
				tk(2, "v1", v1alpha1.TaskStaging), tk(3, "v1", v1alpha1.TaskStaging)},
			want: appPlan{kill: []string{"web.0"}, counts: counts{existing: 4, running: 1, healthy: 1, staged: 3, old: 2, updated: 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := planApp(tt.spec, tt.tasks, t0.Add(tt.now))
			got.lastFailure = nil
			NewWithT(t).Expect(got).To(Equal(tt.want))
		})
	}
}

func TestPlanAppLastFailure(t *testing.T) {
	g := NewWithT(t)
	spec := appSpec{instances: 1, version: "v1", capacity: capacity{1, 1, 2}, backoff: backoffOf(nil, time.Minute)}
	p := planApp(spec, []taskRef{failed(0, "v1", 0, time.Second), failed(1, "v0", 0, 2*time.Second), tk(2, "v1", v1alpha1.TaskRunning)}, t0)
	g.Expect(p.lastFailure).NotTo(BeNil())
	g.Expect(p.lastFailure.name).To(Equal("web.1"), "the newest failure, of any version")
}
