package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// exitRecordTimeout bounds how long Wait waits, after the init process is gone,
// for the monitor to record its exit. The monitor writes it within milliseconds;
// if it does not, the monitor was gone and the exit status is unknown.
const exitRecordTimeout = 2 * time.Second

// Wait implements Runtime. It watches the init process through a pidfd (which
// works for processes that are not this process's children, such as containers
// re-adopted after a restart) and then reads the exit status the monitor
// recorded.
func (r *OCI) Wait(ctx context.Context, id string) (ExitStatus, error) {
	if st, ok := r.recordedExit(id); ok {
		return st, nil
	}
	m, err := r.initProcess(ctx, id)
	if err != nil {
		return ExitStatus{}, err
	}
	if err := waitGone(ctx, m.Pid, m.StartTime); err != nil {
		return ExitStatus{}, err
	}
	deadline := time.Now().Add(exitRecordTimeout)
	for delay := time.Millisecond; time.Now().Before(deadline); delay = min(2*delay, 20*time.Millisecond) {
		if st, ok := r.recordedExit(id); ok {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return ExitStatus{}, ctx.Err()
		case <-time.After(delay):
		}
	}
	// Nobody observed the exit: record that, with the OOM kills the cgroup saw.
	st := ExitStatus{Pid: m.Pid, Unknown: true, FinishedAt: time.Now().UTC()}
	if kills, err := OOMKills(m.MemoryCgroup); err == nil {
		st.OOMKills, st.OOMKilled = kills, kills > 0
	}
	if err := writeJSONFile(filepath.Join(r.containerDir(id), exitFile), st); err != nil {
		return ExitStatus{}, err
	}
	return st, nil
}

// initProcess finds a container's init process from its record, or from the
// runtime's state for a container run by someone else.
func (r *OCI) initProcess(ctx context.Context, id string) (meta, error) {
	var m meta
	err := readJSONFile(filepath.Join(r.containerDir(id), metaFile), &m)
	if err == nil {
		return m, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return m, err
	}
	st, err := r.State(ctx, id)
	if err != nil {
		return m, err
	}
	if err := os.MkdirAll(r.containerDir(id), 0o700); err != nil {
		return m, err
	}
	start, _ := processStartTime(st.Pid)
	mem, _ := MemoryCgroupDir(st.Pid)
	return meta{ID: id, Bundle: st.Bundle, Pid: st.Pid, StartTime: start, MemoryCgroup: mem, Created: st.Created}, nil
}

// waitGone returns once the process pid, started at start (clock ticks; 0 if
// unknown), has exited. A pidfd pins the process, so checking its start time
// after opening it tells it from a later process with the same PID.
func waitGone(ctx context.Context, pid int, start uint64) error {
	if pid <= 0 {
		return fmt.Errorf("no init process known")
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to watch process %d: %w", pid, err)
	}
	defer unix.Close(fd)
	if now, err := processStartTime(pid); err != nil || (start != 0 && now != start) {
		return nil // reaped already, or the PID was reused
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 100)
		if n > 0 {
			return nil
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("failed to watch process %d: %w", pid, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
