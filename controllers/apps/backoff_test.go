package apps

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestBackoffDelay(t *testing.T) {
	spec := func(initial, maxSeconds int32, factor string) *v1alpha1.Backoff {
		return &v1alpha1.Backoff{InitialSeconds: ptr.To(initial), MaxSeconds: ptr.To(maxSeconds), Factor: ptr.To(resource.MustParse(factor))}
	}
	tests := []struct {
		name   string
		spec   *v1alpha1.Backoff
		streak int32
		want   time.Duration
	}{
		{name: "no failure, no delay", spec: spec(1, 300, "2"), streak: 0, want: 0},
		{name: "first failure waits initialSeconds", spec: spec(2, 300, "2"), streak: 1, want: 2 * time.Second},
		{name: "grows by factor", spec: spec(2, 300, "2"), streak: 3, want: 8 * time.Second},
		{name: "fractional factor", spec: spec(10, 300, "1.5"), streak: 2, want: 15 * time.Second},
		{name: "capped at maxSeconds", spec: spec(2, 30, "2"), streak: 10, want: 30 * time.Second},
		{name: "huge streak stays capped", spec: spec(1, 300, "2"), streak: 100000, want: 300 * time.Second},
		{name: "zero initial never waits", spec: spec(0, 300, "2"), streak: 5, want: 0},
		{name: "defaults: 1s, 1.15, 300s", spec: nil, streak: 2, want: 1150 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(backoffOf(tt.spec, time.Minute).delay(tt.streak)).To(Equal(tt.want))
		})
	}
}

func TestTaskStreak(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		task taskRef
		want int32
	}{
		{name: "running is no failure", task: taskRef{state: v1alpha1.TaskRunning, failures: 3}, want: 0},
		{name: "failed grows the inherited streak", task: taskRef{state: v1alpha1.TaskFailed, failures: 3}, want: 4},
		{name: "an exit 0 of a service is a failure", task: taskRef{state: v1alpha1.TaskFinished}, want: 1},
		{name: "killed by the health check is a failure", task: taskRef{state: v1alpha1.TaskKilled, reason: v1alpha1.ReasonHealthCheckFailed, failures: 1}, want: 2},
		{name: "killed on request is not", task: taskRef{state: v1alpha1.TaskKilled, reason: v1alpha1.ReasonKillRequested, failures: 1}, want: 0},
		{name: "drained is not", task: taskRef{state: v1alpha1.TaskKilled, reason: v1alpha1.ReasonAgentDrained}, want: 0},
		{name: "dropped is not", task: taskRef{state: v1alpha1.TaskDropped}, want: 0},
		{name: "ran long enough: the streak restarts", want: 1,
			task: taskRef{state: v1alpha1.TaskFailed, failures: 7, startedAt: t0, finishedAt: t0.Add(time.Minute)}},
		{name: "ran briefly: the streak grows", want: 8,
			task: taskRef{state: v1alpha1.TaskFailed, failures: 7, startedAt: t0, finishedAt: t0.Add(59 * time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(tt.task.streak(time.Minute)).To(Equal(tt.want))
		})
	}
}
