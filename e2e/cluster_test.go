package e2e

import (
	"bytes"
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

	"meseta.dev/meseta/pkg/freeport"
)

// binDir returns the directory with the built binaries.
func binDir(t testing.TB) string {
	if dir := os.Getenv("MESETA_BIN"); dir != "" {
		return dir
	}
	dir, err := filepath.Abs("../bin")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// process is a started meseta binary.
type process struct {
	cmd  *exec.Cmd
	log  *lockedBuffer
	done chan struct{}
}

// cluster is a master started from bin/meseta on a temp data dir.
type cluster struct {
	t          testing.TB
	dataDir    string
	port       int
	kubeconfig string
	master     *process
	args       []string
}

// startMaster starts `meseta master` and waits until kubectl can reach it.
func startMaster(t testing.TB, extraArgs ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, dataDir: t.TempDir(), port: freeport.Local(t)}
	c.kubeconfig = filepath.Join(c.dataDir, "admin.kubeconfig")
	c.args = append([]string{"master", "--data-dir", c.dataDir, "--port", fmt.Sprint(c.port)}, extraArgs...)
	c.start()
	t.Cleanup(c.stop)
	return c
}

func (c *cluster) start() {
	c.t.Helper()
	c.master = startProcess(c.t, filepath.Join(binDir(c.t), "meseta"), c.args...)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.master.done:
			c.t.Fatalf("meseta master exited while starting:\n%s", c.master.log)
		default:
		}
		if _, err := os.Stat(c.kubeconfig); err == nil {
			if _, err := c.kubectlErr("get", "--raw", "/readyz"); err == nil {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("meseta master did not become ready:\n%s", c.master.log)
}

// stop sends SIGTERM and waits for a clean exit.
func (c *cluster) stop() {
	if c.master == nil {
		return
	}
	c.master.stop(c.t, 60*time.Second)
	c.master = nil
}

func startProcess(t testing.TB, bin string, args ...string) *process {
	t.Helper()
	p := &process{log: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout = p.log
	p.cmd.Stderr = p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("failed to start %s: %v", bin, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	return p
}

// stop sends SIGTERM, waits up to timeout, then kills the process group.
func (p *process) stop(t testing.TB, timeout time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("process exited with code %d after SIGTERM:\n%s", code, tail(p.log.String(), 4000))
		}
	case <-time.After(timeout):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		t.Errorf("process did not stop within %s of SIGTERM:\n%s", timeout, tail(p.log.String(), 4000))
	}
}

// kubectl runs the real kubectl against the cluster and fails the test on error.
func (c *cluster) kubectl(args ...string) string {
	c.t.Helper()
	out, err := c.kubectlErr(args...)
	if err != nil {
		c.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (c *cluster) kubectlErr(args ...string) (string, error) {
	return c.run("kubectl", nil, args...)
}

// mesetactl runs bin/mesetactl against the cluster.
func (c *cluster) mesetactl(args ...string) (string, error) {
	return c.run(filepath.Join(binDir(c.t), "mesetactl"), nil, args...)
}

func (c *cluster) run(bin string, stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// applyYAML pipes a manifest into `kubectl apply -f -` with extra args.
func (c *cluster) applyYAML(manifest string, args ...string) (string, error) {
	return c.run("kubectl", []byte(manifest), append([]string{"apply", "-f", "-"}, args...)...)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// lockedBuffer lets a process write its log while a test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
