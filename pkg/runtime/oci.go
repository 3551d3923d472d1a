package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options configure an OCI runtime driver.
type Options struct {
	// Root is the driver's state directory: the OCI runtime's state (--root),
	// per-container records and exit statuses, and the monitor's socket. It must
	// be on a persistent file system for recovery after a reboot to report lost
	// containers. Required.
	Root string
	// Runtime is the OCI runtime binary; default "runc" from PATH. crun works too.
	Runtime string
	// MonitorCommand is the command that runs the monitor, given "--root DIR";
	// default this very binary (/proc/self/exe), in which this package's init
	// function turns into the monitor.
	MonitorCommand []string
}

// OCI is a Runtime that executes an OCI runtime binary. See the package
// documentation for how it learns exit statuses and survives restarts.
type OCI struct {
	opts Options

	mu          sync.Mutex
	monitorDone chan struct{}
	session     net.Conn
	closed      bool
	sessionDone chan struct{}
}

var _ Runtime = (*OCI)(nil)

// ErrNotRunning is returned (wrapped) by Kill for a container whose process has
// exited.
var ErrNotRunning = errors.New("container is not running")

// New creates the state directory, makes sure a monitor runs (starting one when
// none does) and holds a session with it until Close.
func New(opts Options) (*OCI, error) {
	if opts.Root == "" {
		return nil, errors.New("runtime: Root is required")
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	opts.Root = root
	if opts.Runtime == "" {
		opts.Runtime = "runc"
	}
	if !strings.Contains(opts.Runtime, "/") {
		p, err := exec.LookPath(opts.Runtime)
		if err != nil {
			return nil, fmt.Errorf("runtime: OCI runtime %q not found: %w", opts.Runtime, err)
		}
		opts.Runtime = p
	}
	if _, err := os.Stat(opts.Runtime); err != nil {
		return nil, fmt.Errorf("runtime: OCI runtime: %w", err)
	}
	if len(opts.MonitorCommand) == 0 {
		opts.MonitorCommand = []string{"/proc/self/exe"}
	}
	for _, d := range []string{runcStateDir, containersDir} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, err
		}
	}
	r := &OCI{opts: opts, sessionDone: make(chan struct{})}
	conn, err := r.dialMonitor()
	if err != nil {
		return nil, err
	}
	conn.Close()
	go r.keepSession()
	return r, nil
}

// Close ends the driver's session with the monitor. Containers keep running; the
// monitor keeps watching them and exits once it has nothing left to do.
func (r *OCI) Close() error {
	r.mu.Lock()
	r.closed = true
	if r.session != nil {
		r.session.Close()
	}
	r.mu.Unlock()
	<-r.sessionDone
	return nil
}

// RuntimePath returns the OCI runtime binary in use.
func (r *OCI) RuntimePath() string { return r.opts.Runtime }

// Version returns the OCI runtime's name and version, for example "runc 1.5.2".
func (r *OCI) Version(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, r.opts.Runtime, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("failed to get the version of %s: %w", r.opts.Runtime, err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.Replace(strings.TrimSpace(first), " version ", " ", 1), nil
}

func (r *OCI) containerDir(id string) string {
	return filepath.Join(r.opts.Root, containersDir, id)
}

// Run implements Runtime: the monitor runs "RUNTIME run --detach" with the
// container's output files as standard output and error, then watches the
// container's init process.
func (r *OCI) Run(ctx context.Context, id string, opts RunOptions) (State, error) {
	if !validID.MatchString(id) {
		return State{}, fmt.Errorf("invalid container id %q", id)
	}
	cfg, err := readBundleConfig(opts.Bundle)
	if err != nil {
		return State{}, err
	}
	dir := r.containerDir(id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return State{}, fmt.Errorf("container %s: %w", id, err)
	}
	req := request{
		Op: opRun, ID: id, Stdout: opts.Stdout, Stderr: opts.Stderr,
		PidFile: filepath.Join(dir, pidFile), ExitFile: filepath.Join(dir, exitFile), LogFile: filepath.Join(dir, runcLogFile),
		Argv: []string{r.opts.Runtime, "--root", filepath.Join(r.opts.Root, runcStateDir), "--log", filepath.Join(dir, runcLogFile), "--log-format", "json",
			"run", "--detach", "--pid-file", filepath.Join(dir, pidFile), "--bundle", opts.Bundle, id},
	}
	if p := cfg.Linux.CgroupsPath; filepath.IsAbs(p) {
		req.MemoryCgroup = CgroupDirs(p)["memory"]
	}
	created := time.Now().UTC()
	resp, err := r.call(req)
	if err == nil && resp.Error != "" {
		err = errors.New(resp.Error)
	}
	if err != nil {
		_ = r.runtime(context.WithoutCancel(ctx), "delete", id) // in case it got half way
		_ = os.RemoveAll(dir)
		return State{}, fmt.Errorf("failed to run container %s: %w", id, err)
	}
	if err := r.setStartedQuota(ctx, id, cfg); err != nil {
		_ = r.runtime(context.WithoutCancel(ctx), "delete", "--force", id) // it must not run past its limits
		_ = os.RemoveAll(dir)
		return State{}, err
	}
	m := meta{ID: id, Bundle: opts.Bundle, Pid: resp.Pid, StartTime: resp.StartTime, MemoryCgroup: resp.MemoryCgroup, Created: created}
	// Not fsynced: on the launch path, and a lost record is recovered from the
	// runtime's state (see initProcess).
	if err := writeJSON(filepath.Join(dir, metaFile), m, false); err != nil {
		return State{}, fmt.Errorf("failed to record container %s: %w", id, err)
	}
	return State{ID: id, Status: StatusRunning, Pid: resp.Pid, Bundle: opts.Bundle, Created: created, Annotations: cfg.Annotations}, nil
}

// setStartedQuota gives a container that started with StartCFSQuota its own
// CFS quota (AnnotationCFSQuota). It writes the container's cpu cgroup
// itself when it knows where that is: that takes microseconds, where
// `runc update` takes a process start (20-30 ms on the launch path).
func (r *OCI) setStartedQuota(ctx context.Context, id string, cfg bundleConfig) error {
	q, ok := cfg.Annotations[AnnotationCFSQuota]
	if !ok {
		return nil
	}
	if _, err := strconv.ParseUint(q, 10, 63); err != nil {
		return fmt.Errorf("container %s: annotation %s: %q is not a number of microseconds", id, AnnotationCFSQuota, q)
	}
	if p := cfg.Linux.CgroupsPath; filepath.IsAbs(p) {
		if writeCFSQuota(CgroupDirs(p)["cpu"], q) == nil {
			return nil
		}
		// Let the runtime try: it tells a container that exited already
		// from one whose quota cannot be set.
	}
	err := r.runtime(context.WithoutCancel(ctx), "update", "--cpu-quota", q, id)
	switch {
	case err != nil && strings.Contains(err.Error(), "not running"):
		return nil // it ran and exited already: nothing is left to limit
	case err != nil:
		return fmt.Errorf("failed to set the cpu quota of container %s: %w", id, err)
	}
	return nil
}

// bundleConfig is the part of config.json the driver reads.
type bundleConfig struct {
	Annotations map[string]string `json:"annotations"`
	Linux       struct {
		CgroupsPath string `json:"cgroupsPath"`
	} `json:"linux"`
}

func readBundleConfig(bundle string) (bundleConfig, error) {
	var cfg bundleConfig
	if err := readJSONFile(filepath.Join(bundle, "config.json"), &cfg); err != nil {
		return cfg, fmt.Errorf("failed to read the bundle's config.json: %w", err)
	}
	return cfg, nil
}

// runtime runs the OCI runtime with the driver's state directory and returns its
// error with the runtime's message.
func (r *OCI) runtime(ctx context.Context, args ...string) error {
	_, err := r.runtimeOutput(ctx, args...)
	return err
}

func (r *OCI) runtimeOutput(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, r.opts.Runtime, append([]string{"--root", filepath.Join(r.opts.Root, runcStateDir)}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		switch {
		case strings.Contains(msg, "does not exist") || strings.Contains(msg, "not found"):
			return nil, fmt.Errorf("%s %s: %w: %s", filepath.Base(r.opts.Runtime), args[0], ErrNotFound, msg)
		case strings.Contains(msg, "not running") || strings.Contains(msg, "process already finished"):
			return nil, fmt.Errorf("%s %s: %w: %s", filepath.Base(r.opts.Runtime), args[0], ErrNotRunning, msg)
		}
		return nil, fmt.Errorf("%s %s failed: %w: %s", filepath.Base(r.opts.Runtime), args[0], err, msg)
	}
	return out, nil
}

// ociState is the OCI runtime's state output.
type ociState struct {
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations"`
}

func (s ociState) state() State {
	return State{ID: s.ID, Status: Status(s.Status), Pid: s.Pid, Bundle: s.Bundle, Created: s.Created, Annotations: s.Annotations}
}

// State implements Runtime.
func (r *OCI) State(ctx context.Context, id string) (State, error) {
	out, err := r.runtimeOutput(ctx, "state", id)
	if errors.Is(err, ErrNotFound) {
		if st, ok := r.recordedOnly(id); ok {
			return st, nil
		}
		return State{}, fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return State{}, err
	}
	var s ociState
	if err := json.Unmarshal(out, &s); err != nil {
		return State{}, fmt.Errorf("bad state of container %s: %w", id, err)
	}
	st := s.state()
	r.attachExit(&st)
	return st, nil
}

// recordedOnly reports a container that has a record but no runtime state.
func (r *OCI) recordedOnly(id string) (State, bool) {
	var m meta
	if err := readJSONFile(filepath.Join(r.containerDir(id), metaFile), &m); err != nil {
		return State{}, false
	}
	st := State{ID: id, Status: StatusUnknown, Pid: m.Pid, Bundle: m.Bundle, Created: m.Created}
	if cfg, err := readBundleConfig(m.Bundle); err == nil {
		st.Annotations = cfg.Annotations
	}
	r.attachExit(&st)
	return st, true
}

func (r *OCI) attachExit(st *State) {
	if st.Status != StatusStopped && st.Status != StatusUnknown {
		return
	}
	var e ExitStatus
	if readJSONFile(filepath.Join(r.containerDir(st.ID), exitFile), &e) == nil {
		st.Exit = &e
	}
}

// List implements Runtime.
func (r *OCI) List(ctx context.Context) ([]State, error) {
	out, err := r.runtimeOutput(ctx, "list", "--format", "json")
	if err != nil {
		return nil, err
	}
	var list []ociState
	if err := json.Unmarshal(out, &list); err != nil {
		return nil, fmt.Errorf("bad container list: %w", err)
	}
	seen := map[string]bool{}
	var states []State
	for _, s := range list {
		st := s.state()
		r.attachExit(&st)
		states = append(states, st)
		seen[s.ID] = true
	}
	entries, err := os.ReadDir(filepath.Join(r.opts.Root, containersDir))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if seen[e.Name()] {
			continue
		}
		if st, ok := r.recordedOnly(e.Name()); ok {
			states = append(states, st)
		}
	}
	return states, nil
}

// Kill implements Runtime.
func (r *OCI) Kill(ctx context.Context, id string, sig syscall.Signal) error {
	return r.runtime(ctx, "kill", id, strconv.Itoa(int(sig)))
}

// Stop implements Runtime: SIGTERM, up to grace for the process to exit, then
// SIGKILL, and the exit status.
func (r *OCI) Stop(ctx context.Context, id string, grace time.Duration) (ExitStatus, error) {
	if st, ok := r.recordedExit(id); ok {
		return st, nil
	}
	if err := r.Kill(ctx, id, syscall.SIGTERM); err != nil && !errors.Is(err, ErrNotRunning) {
		return ExitStatus{}, err
	}
	graceCtx, cancel := context.WithTimeout(ctx, grace)
	st, err := r.Wait(graceCtx, id)
	cancel()
	if err == nil || ctx.Err() != nil {
		return st, err
	}
	if err := r.Kill(ctx, id, syscall.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
		return ExitStatus{}, err
	}
	return r.Wait(ctx, id)
}

// Delete implements Runtime with a plain delete of the stopped container (no
// --force, which waits ~100 ms after killing).
func (r *OCI) Delete(ctx context.Context, id string) error {
	if err := r.runtime(ctx, "delete", id); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return os.RemoveAll(r.containerDir(id))
}

func (r *OCI) recordedExit(id string) (ExitStatus, bool) {
	var e ExitStatus
	err := readJSONFile(filepath.Join(r.containerDir(id), exitFile), &e)
	return e, err == nil
}
