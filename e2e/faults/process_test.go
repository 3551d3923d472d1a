package faults

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir returns the directory with meseta, mesetactl, runc and images/.
func binDir(t testing.TB) string {
	if dir := os.Getenv("MESETA_BIN"); dir != "" {
		return dir
	}
	dir, err := filepath.Abs("../../bin")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// binPath returns a file under binDir, failing the test when it is missing.
func binPath(t testing.TB, name string) string {
	p := filepath.Join(binDir(t), name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not found (run `make build` or set MESETA_BIN): %v", p, err)
	}
	return p
}

// process is a started binary whose output goes to a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
}

// startProcess starts argv in its own process group with its output appended
// to logPath. The caller stops it.
func startProcess(t testing.TB, name, logPath string, env []string, argv ...string) *process {
	t.Helper()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(logFile, "=== %s: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(argv, " "))
	p := &process{name: name, logPath: logPath, done: make(chan struct{})}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("failed to start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); logFile.Close(); close(p.done) }()
	return p
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL to the process group and waits for the process.
func (p *process) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits up to timeout, then kills the process group.
// It returns an error when the process did not stop in time.
func (p *process) stop(timeout time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("%s did not stop within %s of SIGTERM", p.name, timeout)
	}
}

// tail returns the last n bytes of the process's log.
func (p *process) tail(n int) string {
	data, _ := os.ReadFile(p.logPath)
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

// run runs a command to completion within a minute and returns its combined
// output.
func run(stdin string, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// figures logs measured figures in the parseable form the package
// documentation describes, and keeps them for the test's summary.
type figures struct {
	t        testing.TB
	scenario string
	mu       sync.Mutex
}

func (f *figures) log(name string, d time.Duration) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t.Logf("FIGURE scenario=%s name=%s value=%s", f.scenario, name, d.Round(10*time.Millisecond))
}

func (f *figures) count(name string, n int) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t.Logf("FIGURE scenario=%s name=%s value=%d", f.scenario, name, n)
}
