package simulate

import (
	"syscall"
	"time"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/tasks"
	"meseta.dev/meseta/pkg/runtime"
)

// container is what the simulator knows of the imaginary container of one
// task: when it was admitted and started, what its command does, and how it
// ended.
type container struct {
	// id is the container ID reported in the task's status.
	id string
	// startsAt is when the container starts (admission plus the start delay).
	startsAt time.Time
	// outcome is what its command does.
	outcome Outcome
	// exit is how it ended once it did (killed, or its command exited).
	exit *runtime.ExitStatus
	// killedBeforeStart is true when the task was deleted while preparing.
	killedBeforeStart bool
	// killReason is why the simulator killed it.
	killReason v1alpha1.TaskReason
}

// newContainer admits a task at now: its container starts after startDelay.
func newContainer(t *v1alpha1.Task, now time.Time, startDelay time.Duration) *container {
	return &container{
		id:       tasks.ContainerID(t.Namespace, t.Name, t.UID),
		startsAt: now.Add(startDelay),
		outcome:  ParseCommand(t.Spec.Container.Command),
	}
}

// adoptContainer takes over a task that a previous simulator (or agent)
// started: its container started when its status says.
func adoptContainer(t *v1alpha1.Task, now time.Time) *container {
	c := newContainer(t, now, 0)
	if t.Status.StartedAt != nil {
		c.startsAt = t.Status.StartedAt.Time
	}
	if t.Status.ContainerID != "" {
		c.id = t.Status.ContainerID
	}
	return c
}

// exitsAt is when the command exits by itself; zero for a command that runs
// forever.
func (c *container) exitsAt() time.Time {
	if c.outcome.Forever {
		return time.Time{}
	}
	return c.startsAt.Add(c.outcome.Runs)
}

// settle records the command's own exit once its time has come.
func (c *container) settle(now time.Time) {
	if c.exit != nil || c.killedBeforeStart {
		return
	}
	if at := c.exitsAt(); !at.IsZero() && !now.Before(at) {
		c.exit = &runtime.ExitStatus{Code: c.outcome.ExitCode, FinishedAt: at}
	}
}

// kill stops the container at now, as SIGTERM stops a shell or sleep: at
// once.
func (c *container) kill(now time.Time, reason v1alpha1.TaskReason) {
	c.settle(now)
	if c.exit != nil || c.killedBeforeStart {
		return
	}
	c.killReason = reason
	if now.Before(c.startsAt) {
		c.killedBeforeStart = true
		return
	}
	c.exit = &runtime.ExitStatus{Signal: syscall.SIGTERM, FinishedAt: now}
}

// observe returns what the agent would observe of the container at now, for
// tasks.NextStatus.
func (c *container) observe(now time.Time) tasks.Observation {
	c.settle(now)
	switch {
	case c.killedBeforeStart:
		return tasks.Observation{Phase: tasks.PhaseFailed, Failure: &tasks.Failure{
			State: v1alpha1.TaskKilled, Reason: c.killReason,
			Message: "The task was deleted before its container started",
		}}
	case now.Before(c.startsAt):
		return tasks.Observation{Phase: tasks.PhasePreparing}
	}
	obs := tasks.Observation{Phase: tasks.PhaseRunning, ContainerID: c.id, StartedAt: c.startsAt}
	if c.exit != nil {
		obs.Phase, obs.Exit, obs.KillReason = tasks.PhaseExited, c.exit, c.killReason
	}
	return obs
}

// wakeAfter is how long after now the container changes by itself (it
// starts or its command exits); zero when it never will.
func (c *container) wakeAfter(now time.Time) time.Duration {
	if c.exit != nil || c.killedBeforeStart {
		return 0
	}
	if now.Before(c.startsAt) {
		return c.startsAt.Sub(now)
	}
	if at := c.exitsAt(); !at.IsZero() {
		return max(at.Sub(now), time.Millisecond)
	}
	return 0
}
