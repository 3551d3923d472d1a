package tasks

import (
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/health"
	"meseta.dev/meseta/pkg/runtime"
)

func TestNextStatus(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	started := now.Add(-time.Minute)
	exitedAt := now.Add(-time.Second)
	running := func(o Observation) Observation {
		o.ContainerID, o.StartedAt, o.Sandbox = "c1", started, "/w/tasks/c1/sandbox"
		return o
	}
	exit := func(e runtime.ExitStatus) *runtime.ExitStatus { e.FinishedAt = exitedAt; return &e }
	st := func(s v1alpha1.TaskState) v1alpha1.TaskStatus { return v1alpha1.TaskStatus{State: s} }
	ranStatus := v1alpha1.TaskStatus{State: v1alpha1.TaskRunning, ContainerID: "c1", StartedAt: &metav1.Time{Time: started}}

	tests := []struct {
		name        string
		cur         v1alpha1.TaskStatus
		obs         Observation
		wantState   v1alpha1.TaskState
		wantReason  v1alpha1.TaskReason
		wantCode    *int32
		wantSignal  *int32
		wantMessage string
		wantFinish  *time.Time
	}{
		{name: "new task is staged", cur: st(""), obs: Observation{Phase: PhasePreparing}, wantState: v1alpha1.TaskStaging},
		{name: "unknown task is staged", cur: st(""), obs: Observation{}, wantState: v1alpha1.TaskStaging},
		{name: "staging to starting", cur: st(v1alpha1.TaskStaging), obs: Observation{Phase: PhasePreparing}, wantState: v1alpha1.TaskStarting},
		{name: "one rung at a time: staging to starting though running", cur: st(v1alpha1.TaskStaging), obs: running(Observation{Phase: PhaseRunning}), wantState: v1alpha1.TaskStarting},
		{name: "starting to running", cur: st(v1alpha1.TaskStarting), obs: running(Observation{Phase: PhaseRunning}), wantState: v1alpha1.TaskRunning},
		{name: "exited container shows Running first", cur: st(v1alpha1.TaskStarting), obs: running(Observation{Phase: PhaseExited, Exit: exit(runtime.ExitStatus{})}), wantState: v1alpha1.TaskRunning},
		{name: "exit 0 finishes", cur: ranStatus, obs: running(Observation{Phase: PhaseExited, Exit: exit(runtime.ExitStatus{})}),
			wantState: v1alpha1.TaskFinished, wantCode: ptr[int32](0), wantFinish: &exitedAt},
		{name: "exit 3 fails", cur: ranStatus, obs: running(Observation{Phase: PhaseExited, Exit: exit(runtime.ExitStatus{Code: 3})}),
			wantState: v1alpha1.TaskFailed, wantReason: v1alpha1.ReasonCommandExecutorFailed, wantCode: ptr[int32](3), wantMessage: "exited with code 3"},
		{name: "signal fails", cur: ranStatus, obs: running(Observation{Phase: PhaseExited, Exit: exit(runtime.ExitStatus{Signal: syscall.SIGSEGV})}),
			wantState: v1alpha1.TaskFailed, wantReason: v1alpha1.ReasonCommandExecutorFailed, wantSignal: ptr[int32](11), wantMessage: "SIGSEGV"},
		{name: "OOM kill is a container limitation", cur: ranStatus, obs: running(Observation{Phase: PhaseExited, Exit: exit(runtime.ExitStatus{Signal: syscall.SIGKILL, OOMKilled: true, OOMKills: 1})}),
			wantState: v1alpha1.TaskFailed, wantReason: v1alpha1.ReasonContainerLimitation, wantSignal: ptr[int32](9), wantMessage: "memory limit"},
		{name: "OOM kill with exit code 0 of init still fails", cur: ranStatus, obs: running(Observation{Phase: PhaseExited, Exit: exit(runtime.ExitStatus{OOMKilled: true, OOMKills: 2})}),
			wantState: v1alpha1.TaskFailed, wantReason: v1alpha1.ReasonContainerLimitation, wantCode: ptr[int32](0)},
		{name: "unknown exit is lost", cur: ranStatus, obs: running(Observation{Phase: PhaseExited, Exit: exit(runtime.ExitStatus{Unknown: true})}),
			wantState: v1alpha1.TaskLost, wantReason: v1alpha1.ReasonAgentRestarted},
		{name: "kill in progress", cur: ranStatus, obs: running(Observation{Phase: PhaseRunning, Killing: true, KillReason: v1alpha1.ReasonKillRequested}),
			wantState: v1alpha1.TaskKilling, wantReason: v1alpha1.ReasonKillRequested},
		{name: "killed on request", cur: st(v1alpha1.TaskKilling), obs: running(Observation{Phase: PhaseExited, Killing: true, KillReason: v1alpha1.ReasonKillRequested, Exit: exit(runtime.ExitStatus{Signal: syscall.SIGTERM})}),
			wantState: v1alpha1.TaskKilled, wantReason: v1alpha1.ReasonKillRequested, wantSignal: ptr[int32](15)},
		{name: "killed on request though it exited 0", cur: ranStatus, obs: running(Observation{Phase: PhaseExited, KillReason: v1alpha1.ReasonKillRequested, Exit: exit(runtime.ExitStatus{})}),
			wantState: v1alpha1.TaskKilled, wantReason: v1alpha1.ReasonKillRequested, wantCode: ptr[int32](0)},
		{name: "health check kill fails", cur: ranStatus, obs: running(Observation{Phase: PhaseExited, KillReason: v1alpha1.ReasonHealthCheckFailed, KillMessage: "3 failures", Exit: exit(runtime.ExitStatus{Signal: syscall.SIGKILL})}),
			wantState: v1alpha1.TaskFailed, wantReason: v1alpha1.ReasonHealthCheckFailed, wantSignal: ptr[int32](9), wantMessage: "3 failures"},
		{name: "overcommit refusal from nothing", cur: st(""), obs: Observation{Phase: PhaseFailed, Failure: &Failure{State: v1alpha1.TaskError, Reason: v1alpha1.ReasonOvercommitted, Message: "too big"}},
			wantState: v1alpha1.TaskError, wantReason: v1alpha1.ReasonOvercommitted, wantMessage: "too big", wantFinish: &now},
		{name: "image pull failure", cur: st(v1alpha1.TaskStarting), obs: Observation{Phase: PhaseFailed, Failure: &Failure{State: v1alpha1.TaskFailed, Reason: v1alpha1.ReasonImagePullFailed, Message: "no such image"}},
			wantState: v1alpha1.TaskFailed, wantReason: v1alpha1.ReasonImagePullFailed},
		{name: "vanished container after a restart", cur: ranStatus, obs: Observation{},
			wantState: v1alpha1.TaskLost, wantReason: v1alpha1.ReasonContainerVanished},
		{name: "runtime lost the container", cur: ranStatus, obs: Observation{Phase: PhaseVanished},
			wantState: v1alpha1.TaskLost, wantReason: v1alpha1.ReasonContainerVanished},
		{name: "deleted before launch", cur: st(v1alpha1.TaskStaging), obs: Observation{Deleting: true},
			wantState: v1alpha1.TaskKilled, wantReason: v1alpha1.ReasonKillRequested},
		{name: "drained before launch", cur: st(v1alpha1.TaskStaging), obs: Observation{Deleting: true, KillReason: v1alpha1.ReasonAgentDrained, KillMessage: "Killed to drain node n1"},
			wantState: v1alpha1.TaskKilled, wantReason: v1alpha1.ReasonAgentDrained, wantMessage: "Killed to drain node n1 before its container started"},
		{name: "drain in progress", cur: ranStatus, obs: running(Observation{Phase: PhaseRunning, Killing: true, KillReason: v1alpha1.ReasonAgentDrained, KillMessage: "Killed to drain node n1"}),
			wantState: v1alpha1.TaskKilling, wantReason: v1alpha1.ReasonAgentDrained, wantMessage: "drain node n1"},
		{name: "killed to drain its node", cur: st(v1alpha1.TaskKilling), obs: running(Observation{Phase: PhaseExited, Killing: true, KillReason: v1alpha1.ReasonAgentDrained, KillMessage: "Killed to drain node n1", Exit: exit(runtime.ExitStatus{Signal: syscall.SIGTERM})}),
			wantState: v1alpha1.TaskKilled, wantReason: v1alpha1.ReasonAgentDrained, wantSignal: ptr[int32](15), wantMessage: "Killed to drain node n1; the container"},
		{name: "unreachable but running comes back", cur: v1alpha1.TaskStatus{State: v1alpha1.TaskUnreachable, Reason: v1alpha1.ReasonAgentDisconnected, ContainerID: "c1"},
			obs: running(Observation{Phase: PhaseRunning}), wantState: v1alpha1.TaskRunning},
		{name: "unreachable and exited meanwhile", cur: v1alpha1.TaskStatus{State: v1alpha1.TaskUnreachable, ContainerID: "c1"},
			obs: running(Observation{Phase: PhaseExited, Exit: exit(runtime.ExitStatus{Code: 1})}), wantState: v1alpha1.TaskFailed, wantCode: ptr[int32](1), wantReason: v1alpha1.ReasonCommandExecutorFailed},
		{name: "terminal never changes", cur: v1alpha1.TaskStatus{State: v1alpha1.TaskLost, Reason: v1alpha1.ReasonAgentRemoved},
			obs: running(Observation{Phase: PhaseRunning}), wantState: v1alpha1.TaskLost, wantReason: v1alpha1.ReasonAgentRemoved},
		{name: "finished never becomes failed", cur: v1alpha1.TaskStatus{State: v1alpha1.TaskFinished, ExitCode: ptr[int32](0)},
			obs: running(Observation{Phase: PhaseExited, Exit: exit(runtime.ExitStatus{Code: 1})}), wantState: v1alpha1.TaskFinished, wantCode: ptr[int32](0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			cur := *tt.cur.DeepCopy()
			got := NextStatus(tt.cur, tt.obs, now)
			g.Expect(tt.cur).To(Equal(cur), "the input is not changed")
			g.Expect(got.State).To(Equal(tt.wantState))
			g.Expect(got.Reason).To(Equal(tt.wantReason), got.Message)
			g.Expect(got.ExitCode).To(Equal(tt.wantCode))
			g.Expect(got.Signal).To(Equal(tt.wantSignal))
			g.Expect(got.Message).To(ContainSubstring(tt.wantMessage))
			if tt.wantFinish != nil {
				g.Expect(got.FinishedAt.Time).To(BeTemporally("==", *tt.wantFinish))
			}
			if got.State.IsTerminal() && !cur.State.IsTerminal() {
				g.Expect(got.FinishedAt).NotTo(BeNil())
			}
			if got.State == v1alpha1.TaskRunning && tt.obs.ContainerID != "" {
				g.Expect(got.ContainerID).To(Equal("c1"))
				g.Expect(got.StartedAt.Time).To(BeTemporally("==", started))
				g.Expect(got.Sandbox).To(Equal("/w/tasks/c1/sandbox"))
			}
		})
	}
}

func TestKillReason(t *testing.T) {
	cond := func(status metav1.ConditionStatus, reason string) []metav1.Condition {
		return []metav1.Condition{{Type: v1alpha1.TaskEvictedCondition, Status: status, Reason: reason, Message: "Killed to drain node n1"}}
	}
	tests := []struct {
		name        string
		conditions  []metav1.Condition
		wantReason  v1alpha1.TaskReason
		wantMessage string
	}{
		{name: "deleted: kill requested", wantReason: v1alpha1.ReasonKillRequested},
		{name: "other conditions: kill requested", conditions: []metav1.Condition{{Type: v1alpha1.TaskHealthyCondition, Status: metav1.ConditionTrue, Reason: "HealthCheckPassed"}},
			wantReason: v1alpha1.ReasonKillRequested},
		{name: "evicted to drain its node", conditions: cond(metav1.ConditionTrue, string(v1alpha1.ReasonAgentDrained)),
			wantReason: v1alpha1.ReasonAgentDrained, wantMessage: "Killed to drain node n1"},
		{name: "eviction taken back: kill requested", conditions: cond(metav1.ConditionFalse, string(v1alpha1.ReasonAgentDrained)),
			wantReason: v1alpha1.ReasonKillRequested},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			task := &v1alpha1.Task{Status: v1alpha1.TaskStatus{State: v1alpha1.TaskRunning, Conditions: tt.conditions}}
			reason, message := KillReason(task)
			g.Expect(reason).To(Equal(tt.wantReason))
			g.Expect(message).To(Equal(tt.wantMessage))
		})
	}
}

// TestNextStatusClimbs: repeated updates from the empty state report every
// rung before the terminal state, and then stop changing.
func TestNextStatusClimbs(t *testing.T) {
	g := NewWithT(t)
	obs := Observation{Phase: PhaseExited, ContainerID: "c1", StartedAt: time.Now(), Exit: &runtime.ExitStatus{Code: 0}}
	var seen []v1alpha1.TaskState
	s := v1alpha1.TaskStatus{}
	for range 10 {
		next := NextStatus(s, obs, time.Now())
		if next.State != s.State {
			seen = append(seen, next.State)
		}
		s = next
	}
	g.Expect(seen).To(Equal([]v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting, v1alpha1.TaskRunning, v1alpha1.TaskFinished}))
}

func TestNextStatusHealth(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name     string
		health   *health.Result
		want     *bool
		wantCond metav1.ConditionStatus
	}{
		{name: "no check", health: nil},
		{name: "healthy", health: &health.Result{Healthy: true, Message: "ok"}, want: ptr(true), wantCond: metav1.ConditionTrue},
		{name: "unhealthy", health: &health.Result{Message: "refused"}, want: ptr(false), wantCond: metav1.ConditionFalse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := NextStatus(v1alpha1.TaskStatus{State: v1alpha1.TaskRunning, ContainerID: "c1"},
				Observation{Phase: PhaseRunning, ContainerID: "c1", Health: tt.health}, now)
			g.Expect(got.Healthy).To(Equal(tt.want))
			cond := meta.FindStatusCondition(got.Conditions, v1alpha1.TaskHealthyCondition)
			if tt.want == nil {
				g.Expect(cond).To(BeNil())
				return
			}
			g.Expect(cond.Status).To(Equal(tt.wantCond))
			// The same result again changes nothing, not even the transition time.
			again := NextStatus(got, Observation{Phase: PhaseRunning, ContainerID: "c1", Health: tt.health}, now.Add(time.Minute))
			g.Expect(again).To(Equal(got))
		})
	}
}
