package runtime

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// monitorStartTimeout bounds how long a driver waits for a monitor it started.
const monitorStartTimeout = 10 * time.Second

// dialMonitor connects to the monitor of the state directory, starting one when
// none answers.
func (r *OCI) dialMonitor() (net.Conn, error) {
	sock := filepath.Join(r.opts.Root, monitorSocket)
	deadline := time.Now().Add(monitorStartTimeout)
	started := false
	for delay := time.Millisecond; ; delay = min(2*delay, 20*time.Millisecond) {
		conn, err := net.DialTimeout("unix", sock, time.Second)
		if err == nil {
			return conn, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no runtime monitor answers at %s: %w", sock, err)
		}
		if !started || r.monitorExited() {
			if err := r.startMonitor(); err != nil {
				return nil, err
			}
			started = true
		}
		time.Sleep(delay)
	}
}

// startMonitor re-executes the monitor command in its own session, so that it
// outlives the agent and ignores the terminal's signals.
func (r *OCI) startMonitor() error {
	logFile, err := os.OpenFile(filepath.Join(r.opts.Root, monitorLogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	argv := append(append([]string(nil), r.opts.MonitorCommand...), "--root", r.opts.Root)
	cmd := &exec.Cmd{
		Path:        argv[0],
		Args:        append([]string{monitorArgv0}, argv[1:]...),
		Stdout:      logFile,
		Stderr:      logFile,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("failed to start the runtime monitor %s: %w", argv[0], err)
	}
	r.mu.Lock()
	r.monitorDone = make(chan struct{})
	done := r.monitorDone
	r.mu.Unlock()
	go func() { _ = cmd.Wait(); close(done) }() // reap it if it exits while we live
	return nil
}

// monitorExited tells whether the monitor this driver started has exited.
func (r *OCI) monitorExited() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.monitorDone == nil {
		return false
	}
	select {
	case <-r.monitorDone:
		return true
	default:
		return false
	}
}

// call sends one request to the monitor and reads its response.
func (r *OCI) call(req request) (response, error) {
	conn, err := r.dialMonitor()
	if err != nil {
		return response{}, err
	}
	defer conn.Close()
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return response{}, fmt.Errorf("runtime monitor: %w", err)
	}
	var resp response
	if err := json.NewDecoder(bufio.NewReader(conn)).Decode(&resp); err != nil {
		return response{}, fmt.Errorf("runtime monitor did not answer: %w", err)
	}
	return resp, nil
}

// keepSession holds a session with the monitor open, so that it does not exit
// while this driver lives; it reconnects when the monitor restarts.
func (r *OCI) keepSession() {
	defer close(r.sessionDone)
	for {
		conn, err := r.dialMonitor()
		if err == nil {
			if err = json.NewEncoder(conn).Encode(request{Op: opSession}); err == nil {
				r.mu.Lock()
				r.session = conn
				closed := r.closed
				r.mu.Unlock()
				if closed {
					conn.Close()
					return
				}
				_, _ = bufio.NewReader(conn).ReadBytes('\n') // returns when either side closes
			}
			conn.Close()
		}
		r.mu.Lock()
		closed := r.closed
		r.mu.Unlock()
		if closed {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
