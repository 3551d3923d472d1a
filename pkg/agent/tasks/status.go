package tasks

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/health"
	"meseta.dev/meseta/pkg/runtime"
)

// Phase is what the agent knows of a task's container.
type Phase string

// Container phases.
const (
	// PhaseNone is a task the agent has launched nothing for (since it started).
	PhaseNone Phase = ""
	// PhasePreparing is a task admitted on the node whose image is being pulled
	// and whose bundle is being written.
	PhasePreparing Phase = "Preparing"
	// PhaseRunning is a task whose container runs.
	PhaseRunning Phase = "Running"
	// PhaseExited is a task whose container ran and exited; Exit says how.
	PhaseExited Phase = "Exited"
	// PhaseFailed is a task whose container never ran: it was refused, could not
	// be prepared, or was killed while being prepared; Failure says why.
	PhaseFailed Phase = "Failed"
	// PhaseVanished is a task whose container the runtime lost (its state is
	// gone and no exit was recorded).
	PhaseVanished Phase = "Vanished"
)

// Failure is why a task's container never ran: the terminal state to report,
// with its reason and message.
type Failure struct {
	// State is Failed, Error or Killed.
	State v1alpha1.TaskState
	// Reason is the status reason.
	Reason v1alpha1.TaskReason
	// Message is the status message.
	Message string
}

// Observation is everything the agent knows of a task on its side: the input,
// with the task's status in the API, of NextStatus.
type Observation struct {
	// Phase is the container's phase.
	Phase Phase
	// Deleting is true when the task is being deleted.
	Deleting bool
	// ContainerID is the ID of the task's container in the runtime, once it ran.
	ContainerID string
	// Sandbox is the task's sandbox directory, once created.
	Sandbox string
	// StartedAt is when the container started.
	StartedAt time.Time
	// Exit is how the container ended (PhaseExited).
	Exit *runtime.ExitStatus
	// Failure is why the container never ran (PhaseFailed).
	Failure *Failure
	// Killing is true while the agent is killing the container.
	Killing bool
	// KillReason is why the agent killed (or is killing) the container; it
	// decides the terminal state: HealthCheckFailed gives Failed, the others
	// Killed.
	KillReason v1alpha1.TaskReason
	// KillMessage says more about the kill.
	KillMessage string
	// Health is the latest health check result, nil when there is none.
	Health *health.Result
}

// rank orders the non-terminal states a task goes through: a status moves at
// most one rung up per update, so every watcher sees Staging, Starting and
// Running (with the container's ID) before a terminal state of a container that
// ran.
func rank(s v1alpha1.TaskState) int {
	switch s {
	case v1alpha1.TaskStaging:
		return 1
	case v1alpha1.TaskStarting:
		return 2
	case v1alpha1.TaskRunning, v1alpha1.TaskKilling, v1alpha1.TaskUnreachable:
		return 3
	}
	return 0 // "", Unknown
}

// ladder is the state at each rank.
var ladder = []v1alpha1.TaskState{"", v1alpha1.TaskStaging, v1alpha1.TaskStarting, v1alpha1.TaskRunning}

// NextStatus returns the status a task should have now, given its status in the
// API and what the agent observes of its container. It never changes a terminal
// status, and it climbs Staging, Starting, Running one rung per call: a container
// that ran and exited is reported Running before its terminal state. The result
// shares no memory with cur.
func NextStatus(cur v1alpha1.TaskStatus, obs Observation, now time.Time) v1alpha1.TaskStatus {
	next := *cur.DeepCopy()
	if cur.State.IsTerminal() {
		return next
	}
	target, needs := targetState(cur, obs)
	if needs > rank(cur.State)+1 {
		target = ladder[rank(cur.State)+1]
	}
	if target != next.State {
		next.Reason, next.Message = "", ""
	}
	next.State = target
	if obs.Sandbox != "" {
		next.Sandbox = obs.Sandbox
	}
	switch target {
	case v1alpha1.TaskStaging:
		next.Message = v1alpha1.StagingMessage
	case v1alpha1.TaskStarting:
		next.Message = "Pulling the image and preparing the sandbox"
	case v1alpha1.TaskRunning, v1alpha1.TaskKilling:
		setRunning(&next, obs)
		if target == v1alpha1.TaskKilling {
			next.Reason, next.Message = obs.KillReason, killingMessage(obs)
		}
	default:
		setTerminal(&next, cur, obs, now)
	}
	setHealth(&next, obs, now)
	return next
}

// targetState is the state obs calls for and the rank the current state must
// have reached, less one, for the status to jump straight to it.
func targetState(cur v1alpha1.TaskStatus, obs Observation) (v1alpha1.TaskState, int) {
	switch obs.Phase {
	case PhasePreparing:
		return v1alpha1.TaskStarting, 2
	case PhaseRunning:
		if obs.Killing {
			return v1alpha1.TaskKilling, 4
		}
		return v1alpha1.TaskRunning, 3
	case PhaseExited:
		return exitState(obs), 4
	case PhaseFailed:
		return obs.Failure.State, 0
	case PhaseVanished:
		return v1alpha1.TaskLost, 0
	}
	// PhaseNone: nothing runs for the task.
	switch {
	case ranBefore(cur):
		return v1alpha1.TaskLost, 0
	case obs.Deleting:
		return v1alpha1.TaskKilled, 0
	}
	return v1alpha1.TaskStaging, 1
}

// ranBefore reports whether the status says a container ran for the task.
func ranBefore(s v1alpha1.TaskStatus) bool {
	return s.ContainerID != "" || s.State == v1alpha1.TaskRunning || s.State == v1alpha1.TaskKilling
}

// exitState is the terminal state of a container that exited.
func exitState(obs Observation) v1alpha1.TaskState {
	e := obs.Exit
	switch {
	case obs.KillReason == v1alpha1.ReasonHealthCheckFailed:
		return v1alpha1.TaskFailed
	case obs.KillReason != "":
		return v1alpha1.TaskKilled
	case e == nil || (e.Unknown && !e.OOMKilled):
		return v1alpha1.TaskLost
	case e.Succeeded():
		return v1alpha1.TaskFinished
	}
	return v1alpha1.TaskFailed
}

func setRunning(s *v1alpha1.TaskStatus, obs Observation) {
	if obs.ContainerID != "" {
		s.ContainerID = obs.ContainerID
	}
	if !obs.StartedAt.IsZero() && s.StartedAt == nil {
		s.StartedAt = &metav1.Time{Time: obs.StartedAt}
	}
}

func killingMessage(obs Observation) string {
	if obs.KillMessage != "" {
		return obs.KillMessage
	}
	return "The agent sent SIGTERM; SIGKILL follows after the kill grace period"
}

// setTerminal fills in the reason, message, exit and time of a terminal state.
func setTerminal(s *v1alpha1.TaskStatus, cur v1alpha1.TaskStatus, obs Observation, now time.Time) {
	finished := now
	switch obs.Phase {
	case PhaseExited:
		setRunning(s, obs)
		setExit(s, obs)
		if obs.Exit != nil && !obs.Exit.FinishedAt.IsZero() {
			finished = obs.Exit.FinishedAt
		}
	case PhaseFailed:
		s.Reason, s.Message = obs.Failure.Reason, obs.Failure.Message
	case PhaseVanished:
		s.Reason = v1alpha1.ReasonContainerVanished
		s.Message = "The runtime lost the task's container (its state vanished, for example in a reboot) and recorded no exit"
	default: // PhaseNone
		if ranBefore(cur) {
			s.Reason = v1alpha1.ReasonContainerVanished
			s.Message = "The agent found no container for the task, which had been running (it vanished while the agent was down)"
		} else {
			s.Reason, s.Message = v1alpha1.ReasonKillRequested, "The task was deleted before its container started"
			if obs.KillReason != "" {
				s.Reason = obs.KillReason
			}
			if obs.KillMessage != "" {
				s.Message = obs.KillMessage + " before its container started"
			}
		}
	}
	s.FinishedAt = &metav1.Time{Time: finished}
}

// setExit reports how an exited container ended.
func setExit(s *v1alpha1.TaskStatus, obs Observation) {
	e := obs.Exit
	if e == nil {
		s.Reason = v1alpha1.ReasonContainerVanished
		s.Message = "The container exited and its exit status is unknown"
		return
	}
	if !e.Unknown {
		if e.Signal != 0 {
			s.Signal = ptr(int32(e.Signal))
		} else {
			s.ExitCode = ptr(int32(e.Code))
		}
	}
	switch {
	case obs.KillReason != "":
		s.Reason = obs.KillReason
		s.Message = fmt.Sprintf("%s; the container %s", killedMessage(obs), e)
	case e.OOMKilled:
		s.Reason = v1alpha1.ReasonContainerLimitation
		s.Message = fmt.Sprintf("The container exceeded its memory limit and was OOM-killed: it %s", e)
	case e.Unknown:
		s.Reason = v1alpha1.ReasonAgentRestarted
		s.Message = "The container exited while the agent's runtime monitor was down; its exit status is unknown"
	case e.Succeeded():
		s.Message = "The container exited with code 0"
	default:
		s.Reason = v1alpha1.ReasonCommandExecutorFailed
		s.Message = fmt.Sprintf("The container %s", e)
	}
}

// KillReason is the reason and message a deleted task is killed with: those
// of its Evicted condition when the master evicted it (AgentDrained, for a
// drained node), else KillRequested.
func KillReason(t *v1alpha1.Task) (v1alpha1.TaskReason, string) {
	c := meta.FindStatusCondition(t.Status.Conditions, v1alpha1.TaskEvictedCondition)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason == "" {
		return v1alpha1.ReasonKillRequested, ""
	}
	return v1alpha1.TaskReason(c.Reason), c.Message
}

func killedMessage(obs Observation) string {
	if obs.KillMessage != "" {
		return obs.KillMessage
	}
	switch obs.KillReason {
	case v1alpha1.ReasonKillRequested:
		return "Killed because the task was deleted"
	case v1alpha1.ReasonHealthCheckFailed:
		return "Killed after failing its health check"
	}
	return "Killed by the agent"
}

// setHealth mirrors the latest health check in status.healthy and the Healthy
// condition while the task runs.
func setHealth(s *v1alpha1.TaskStatus, obs Observation, now time.Time) {
	h := obs.Health
	if h == nil || s.State.IsTerminal() {
		return
	}
	s.Healthy = ptr(h.Healthy)
	cond := metav1.Condition{
		Type:               v1alpha1.TaskHealthyCondition,
		Status:             metav1.ConditionFalse,
		Reason:             v1alpha1.TaskHealthCheckFailedReason,
		Message:            h.Message,
		LastTransitionTime: metav1.Time{Time: now},
	}
	if h.Healthy {
		cond.Status, cond.Reason = metav1.ConditionTrue, v1alpha1.TaskHealthCheckPassedReason
	}
	meta.SetStatusCondition(&s.Conditions, cond)
}

func ptr[T any](v T) *T { return &v }
