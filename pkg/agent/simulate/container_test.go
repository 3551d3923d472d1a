package simulate

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/tasks"
)

// TestContainerLifecycle drives a simulated container through the passes
// the reconciler makes, each at its time, and checks the states the task's
// status goes through (tasks.NextStatus climbs one rung per pass).
func TestContainerLifecycle(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	type pass struct {
		at   time.Duration
		kill bool
	}
	tests := []struct {
		name       string
		command    []string
		startDelay time.Duration
		passes     []pass
		want       []v1alpha1.TaskState
		wantExit   *int32
		wantSignal bool
		wantWake   time.Duration // after the last pass
	}{
		{
			name: "sleep finishes after its time", command: []string{"sleep", "5"},
			passes:   []pass{{at: 0}, {at: 0}, {at: 0}, {at: 2 * time.Second}, {at: 5 * time.Second}},
			want:     []v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting, v1alpha1.TaskRunning, v1alpha1.TaskRunning, v1alpha1.TaskFinished},
			wantExit: ptr(int32(0)),
		},
		{
			name: "false fails with its exit code after Running", command: []string{"false"},
			passes:   []pass{{at: 0}, {at: 0}, {at: 0}, {at: 0}},
			want:     []v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting, v1alpha1.TaskRunning, v1alpha1.TaskFailed},
			wantExit: ptr(int32(1)),
		},
		{
			name: "sh -c exit 3 fails with code 3", command: []string{"sh", "-c", "exit 3"},
			passes:   []pass{{at: 0}, {at: 0}, {at: 0}, {at: 0}},
			want:     []v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting, v1alpha1.TaskRunning, v1alpha1.TaskFailed},
			wantExit: ptr(int32(3)),
		},
		{
			name: "a server runs until killed", command: []string{"httpd", "-f"},
			passes:     []pass{{at: 0}, {at: 0}, {at: 0}, {at: time.Hour}, {at: time.Hour, kill: true}},
			want:       []v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting, v1alpha1.TaskRunning, v1alpha1.TaskRunning, v1alpha1.TaskKilled},
			wantSignal: true,
		},
		{
			name: "a running sleep waits for its exit", command: []string{"sleep", "10"},
			passes:   []pass{{at: 0}, {at: 0}, {at: time.Second}},
			want:     []v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting, v1alpha1.TaskRunning},
			wantWake: 9 * time.Second,
		},
		{
			name: "starting waits for the start delay", command: []string{"sleep", "10"}, startDelay: 2 * time.Second,
			passes:   []pass{{at: 0}, {at: 0}, {at: time.Second}},
			want:     []v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting, v1alpha1.TaskStarting},
			wantWake: time.Second,
		},
		{
			name: "deleted before it started", command: []string{"sleep", "10"}, startDelay: time.Minute,
			passes: []pass{{at: 0}, {at: 0}, {at: time.Second, kill: true}},
			want:   []v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting, v1alpha1.TaskKilled},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t", UID: "u1"}}
			task.Spec.Container.Command = tt.command
			c := newContainer(task, t0, tt.startDelay)
			var status v1alpha1.TaskStatus
			var got []v1alpha1.TaskState
			for _, p := range tt.passes {
				now := t0.Add(p.at)
				if p.kill {
					c.kill(now, v1alpha1.ReasonKillRequested)
				}
				obs := c.observe(now)
				obs.Deleting = p.kill
				status = tasks.NextStatus(status, obs, now)
				got = append(got, status.State)
			}
			g.Expect(got).To(Equal(tt.want))
			g.Expect(status.ExitCode).To(Equal(tt.wantExit))
			g.Expect(status.Signal != nil).To(Equal(tt.wantSignal))
			if status.State == v1alpha1.TaskRunning {
				g.Expect(status.ContainerID).To(Equal(tasks.ContainerID("ns", "t", "u1")))
			}
			g.Expect(c.wakeAfter(t0.Add(tt.passes[len(tt.passes)-1].at))).To(Equal(tt.wantWake))
		})
	}
}

// TestAdoptContainer checks that a task a previous simulator started keeps
// its container ID and finishes at the time its command says.
func TestAdoptContainer(t *testing.T) {
	g := NewWithT(t)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t", UID: "u1"}}
	task.Spec.Container.Command = []string{"sleep", "60"}
	task.Status = v1alpha1.TaskStatus{State: v1alpha1.TaskRunning, ContainerID: "old-id", StartedAt: &metav1.Time{Time: t0}}
	g.Expect(started(task.Status)).To(BeTrue())
	c := adoptContainer(task, t0.Add(50*time.Second))
	g.Expect(c.wakeAfter(t0.Add(50 * time.Second))).To(Equal(10 * time.Second))
	next := tasks.NextStatus(task.Status, c.observe(t0.Add(time.Minute)), t0.Add(time.Minute))
	g.Expect(next.State).To(Equal(v1alpha1.TaskFinished))
	g.Expect(next.ContainerID).To(Equal("old-id"))
	g.Expect(next.FinishedAt.Time).To(Equal(t0.Add(time.Minute)))
}
