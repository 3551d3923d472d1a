package runtime

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Runtime runs task containers. OCI is the implementation that executes an OCI
// runtime binary (runc, crun).
type Runtime interface {
	// Run creates and starts the container id from a bundle, detached, with its
	// standard output and error appended to files. It returns once the
	// container's process runs (or has already exited).
	Run(ctx context.Context, id string, opts RunOptions) (State, error)
	// State reports a container, with its exit status once it has stopped.
	State(ctx context.Context, id string) (State, error)
	// Kill sends a signal to the container's init process.
	Kill(ctx context.Context, id string, sig syscall.Signal) error
	// Wait blocks until the container's init process has exited and returns its
	// exit status.
	Wait(ctx context.Context, id string) (ExitStatus, error)
	// Stop sends SIGTERM, then SIGKILL after grace, and waits for the exit.
	Stop(ctx context.Context, id string, grace time.Duration) (ExitStatus, error)
	// Delete removes a stopped container and its state; the exit status is gone
	// afterwards. Deleting a running container fails; deleting an unknown one
	// succeeds.
	Delete(ctx context.Context, id string) error
	// List reports every container the runtime knows, including those whose
	// runtime state vanished (Status Unknown).
	List(ctx context.Context) ([]State, error)
}

// RunOptions say how to run a container.
type RunOptions struct {
	// Bundle is the OCI bundle directory holding config.json (see WriteBundle).
	Bundle string
	// Stdout and Stderr are files the container's output is appended to, usually
	// "stdout" and "stderr" in the task's sandbox. They are opened without
	// following symlinks.
	Stdout, Stderr string
}

// Status is a container's OCI status.
type Status string

// Container statuses.
const (
	// StatusCreated is a container whose process waits to be started.
	StatusCreated Status = "created"
	// StatusRunning is a container whose process runs.
	StatusRunning Status = "running"
	// StatusPaused is a frozen container.
	StatusPaused Status = "paused"
	// StatusStopped is a container whose process has exited.
	StatusStopped Status = "stopped"
	// StatusUnknown is a container recorded by Meseta that the OCI runtime no
	// longer knows (its state was lost, for example by a reboot of a tmpfs).
	StatusUnknown Status = "unknown"
)

// State is what is known of a container.
type State struct {
	// ID is the container's ID.
	ID string
	// Status is the container's status.
	Status Status
	// Pid is the host PID of the container's init process, 0 if unknown.
	Pid int
	// Bundle is the bundle directory.
	Bundle string
	// Created is when the container was created.
	Created time.Time
	// Annotations are the spec's annotations.
	Annotations map[string]string
	// Exit is the exit status once the container has stopped and it is known.
	Exit *ExitStatus
}

// ExitStatus is how a container's init process ended.
type ExitStatus struct {
	// Pid is the process that exited.
	Pid int `json:"pid"`
	// Code is the exit code when the process exited by itself (Signal is 0).
	Code int `json:"exitCode"`
	// Signal is the signal that killed the process, 0 if it exited.
	Signal syscall.Signal `json:"signal,omitempty"`
	// OOMKilled is true when the kernel's OOM killer killed a process of the
	// container's memory cgroup (not necessarily init) during its life.
	OOMKilled bool `json:"oomKilled,omitempty"`
	// OOMKills is how many processes the OOM killer killed in the container.
	OOMKills int64 `json:"oomKills,omitempty"`
	// FinishedAt is when the exit was observed.
	FinishedAt time.Time `json:"finishedAt"`
	// Unknown is true when the exit was not observed (its monitor was gone);
	// Code and Signal are then meaningless, OOMKilled still holds.
	Unknown bool `json:"unknown,omitempty"`
}

// Succeeded tells whether the process exited with code 0 and no OOM kill.
func (e ExitStatus) Succeeded() bool {
	return !e.Unknown && e.Signal == 0 && e.Code == 0 && !e.OOMKilled
}

// String describes the exit for messages: "exited with code 3", "killed by
// signal SIGKILL (OOM)".
func (e ExitStatus) String() string {
	var s string
	switch {
	case e.Unknown:
		s = "exited with an unknown status"
	case e.Signal != 0:
		s = fmt.Sprintf("killed by signal %s", signalName(e.Signal))
	default:
		s = fmt.Sprintf("exited with code %d", e.Code)
	}
	if e.OOMKilled {
		s += fmt.Sprintf(" after %d OOM kill(s) in its memory cgroup", e.OOMKills)
	}
	return s
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	}
	return fmt.Sprintf("%d (%s)", int(sig), sig)
}

// ErrNotFound is returned (wrapped) for a container the runtime does not know.
var ErrNotFound = errors.New("container not found")
