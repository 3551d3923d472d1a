package runtime

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/pkg/image"
)

func TestRunOutputAndExitCodes(t *testing.T) {
	tests := []struct {
		name       string
		script     string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "echo hello", script: "echo hello", wantStdout: "hello\n"},
		{name: "stderr", script: "echo oops >&2; exit 1", wantCode: 1, wantStderr: "oops\n"},
		{name: "exit 3", script: "exit 3", wantCode: 3},
		{name: "exit 137 is a code, not a signal", script: "exit 137", wantCode: 137},
		{name: "args and env", script: `echo "$0 $1 $MODE"`, wantStdout: "x y fast\n"},
		{name: "pid namespace, cwd, hostname", script: `echo "$$ $(pwd) $(hostname | cut -c1-4)"`, wantStdout: "1 /mnt/sandbox Test\n"},
		{name: "host /root is not visible", script: "ls -A /root | wc -l; test -e " + hostMarker(t), wantCode: 1, wantStdout: "0\n"},
	}
	h := newHarness(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			tk := h.prepare(t, busybox, func(c *Config) {
				c.Args = []string{"sh", "-c", tt.script, "x", "y"}
				c.Env = append(c.Env, "MODE=fast")
			})
			st := h.start(t, tk)
			g.Expect(st.Status).To(Equal(StatusRunning))
			g.Expect(st.Pid).To(BeNumerically(">", 1))
			exit := h.wait(t, tk)
			g.Expect(exit.Unknown).To(BeFalse())
			g.Expect(exit.Signal).To(BeZero())
			g.Expect(exit.Code).To(Equal(tt.wantCode), "stderr: %s", tk.output("stderr"))
			g.Expect(exit.OOMKilled).To(BeFalse())
			g.Expect(tk.output("stdout")).To(Equal(tt.wantStdout))
			g.Expect(tk.output("stderr")).To(Equal(tt.wantStderr))
			state, err := h.rt.State(context.Background(), tk.id)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(state.Status).To(Equal(StatusStopped))
			g.Expect(state.Exit).To(Equal(&exit))
			g.Expect(h.rt.Delete(context.Background(), tk.id)).To(Succeed())
			_, err = h.rt.State(context.Background(), tk.id)
			g.Expect(err).To(MatchError(ErrNotFound))
		})
	}
}

// hostMarker makes a file in the host's /root that no container may see.
func hostMarker(t *testing.T) string {
	p := fmt.Sprintf("/root/.meseta-test-marker-%d", os.Getpid())
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(p) })
	return p
}

func TestKillAndStop(t *testing.T) {
	tests := []struct {
		name       string
		script     string
		stop       func(h *harness, tk *task) (ExitStatus, error)
		wantCode   int
		wantSignal syscall.Signal
		wantStdout string
	}{
		{
			name:   "SIGTERM handled within the grace period",
			script: `trap 'echo bye; exit 42' TERM; echo ready; while true; do sleep 0.05; done`,
			stop: func(h *harness, tk *task) (ExitStatus, error) {
				return h.rt.Stop(context.Background(), tk.id, 30*time.Second)
			},
			wantCode: 42, wantStdout: "ready\nbye\n",
		},
		{
			name:   "SIGTERM ignored: SIGKILL after the grace period",
			script: `trap '' TERM; echo ready; sleep 1000`,
			stop: func(h *harness, tk *task) (ExitStatus, error) {
				return h.rt.Stop(context.Background(), tk.id, 300*time.Millisecond)
			},
			wantSignal: syscall.SIGKILL, wantStdout: "ready\n",
		},
		{
			name:   "Kill with a signal",
			script: `echo ready; sleep 1000`,
			stop: func(h *harness, tk *task) (ExitStatus, error) {
				if err := h.rt.Kill(context.Background(), tk.id, syscall.SIGKILL); err != nil {
					return ExitStatus{}, err
				}
				return h.rt.Wait(context.Background(), tk.id)
			},
			wantSignal: syscall.SIGKILL, wantStdout: "ready\n",
		},
	}
	h := newHarness(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			tk := h.prepare(t, busybox, sh(tt.script))
			h.start(t, tk)
			g.Eventually(func() string { return tk.output("stdout") }).WithTimeout(10 * time.Second).Should(Equal("ready\n"))
			exit, err := tt.stop(h, tk)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(exit.Code).To(Equal(tt.wantCode))
			g.Expect(exit.Signal).To(Equal(tt.wantSignal))
			g.Expect(exit.OOMKilled).To(BeFalse())
			g.Expect(tk.output("stdout")).To(Equal(tt.wantStdout))
			g.Expect(h.rt.Kill(context.Background(), tk.id, syscall.SIGTERM)).To(MatchError(ErrNotRunning))
			again, err := h.rt.Stop(context.Background(), tk.id, time.Second)
			g.Expect(err).NotTo(HaveOccurred(), "Stop of a stopped container returns its exit")
			g.Expect(again).To(Equal(exit))
		})
	}
}

func TestOOMKill(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t)
	tk := h.prepare(t, busybox, func(c *Config) {
		c.Args = []string{"tail", "/dev/zero"}
		c.Limits = Limits{MemoryBytes: 32 << 20}
	})
	h.start(t, tk)
	exit := h.wait(t, tk)
	g.Expect(exit.Signal).To(Equal(syscall.SIGKILL))
	g.Expect(exit.OOMKilled).To(BeTrue())
	g.Expect(exit.OOMKills).To(BeNumerically(">=", 1))
	g.Expect(exit.Succeeded()).To(BeFalse())
	g.Expect(exit.String()).To(ContainSubstring("OOM"))
}

func TestCgroupLimits(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t)
	tk := h.prepare(t, busybox, func(c *Config) {
		c.Args = []string{"sleep", "1000"}
		c.Limits = Limits{MilliCPUs: 500, MemoryBytes: 64 << 20}
	})
	h.start(t, tk)
	read := cgroupReader(g, tk.id)
	if unifiedHost() {
		g.Expect(read("cpu", "cpu.max")).To(Equal("50000 100000"))
		g.Expect(read("memory", "memory.max")).To(Equal(strconv.Itoa(64 << 20)))
		g.Expect(read("memory", "memory.swap.max")).To(Equal("0"))
		g.Expect(read("pids", "pids.max")).To(Equal("4096"))
		return
	}
	g.Expect(read("cpu", "cpu.cfs_quota_us")).To(Equal("50000"))
	g.Expect(read("cpu", "cpu.cfs_period_us")).To(Equal("100000"))
	g.Expect(read("cpu", "cpu.shares")).To(Equal("512"))
	g.Expect(read("memory", "memory.limit_in_bytes")).To(Equal(strconv.Itoa(64 << 20)))
	if _, err := os.Stat(filepath.Join(CgroupDirs(filepath.Join(DefaultCgroupParent, tk.id))["memory"], "memory.memsw.limit_in_bytes")); err == nil {
		g.Expect(read("memory", "memory.memsw.limit_in_bytes")).To(Equal(strconv.Itoa(64 << 20)))
	}
	g.Expect(read("pids", "pids.max")).To(Equal("4096"))
}

func TestHostRootTask(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t)
	hostRoot, err := testStore.Pull(context.Background(), "")
	g.Expect(err).NotTo(HaveOccurred())
	tk := h.prepare(t, hostRoot, sh(`cat /etc/hostname >/dev/null && echo read-ok; `+
		`touch /etc/meseta-test 2>/dev/null || echo etc-ro; touch /meseta-test 2>/dev/null || echo root-ro; `+
		`echo sandbox-ok > /mnt/sandbox/out; touch /tmp/x && echo tmp-ok`))
	g.Expect(tk.cfg.RootfsReadOnly).To(BeTrue())
	h.start(t, tk)
	exit := h.wait(t, tk)
	g.Expect(exit.Code).To(Equal(0), "stderr: %s", tk.output("stderr"))
	g.Expect(tk.output("stdout")).To(Equal("read-ok\netc-ro\nroot-ro\ntmp-ok\n"))
	g.Expect(tk.output("out")).To(Equal("sandbox-ok\n"))
	g.Expect("/etc/meseta-test").NotTo(BeAnExistingFile())
}

func TestListAndUnknownContainers(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t)
	tk := h.prepare(t, busybox, func(c *Config) {
		c.Args = []string{"sleep", "1000"}
		c.Annotations = map[string]string{"meseta.dev/task": "team-a/report-1"}
	})
	h.start(t, tk)
	// A record whose runtime state is gone, as after a reboot that emptied it.
	lost := filepath.Join(h.rt.opts.Root, containersDir, "lost-one")
	g.Expect(os.MkdirAll(lost, 0o700)).To(Succeed())
	g.Expect(writeJSONFile(filepath.Join(lost, metaFile), meta{ID: "lost-one", Pid: 1 << 22})).To(Succeed())

	list, err := h.rt.List(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(list).To(ContainElement(SatisfyAll(
		HaveField("ID", tk.id), HaveField("Status", StatusRunning),
		HaveField("Annotations", HaveKeyWithValue("meseta.dev/task", "team-a/report-1")))))
	g.Expect(list).To(ContainElement(SatisfyAll(HaveField("ID", "lost-one"), HaveField("Status", StatusUnknown))))

	exit, err := h.rt.Wait(context.Background(), "lost-one")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(exit.Unknown).To(BeTrue())
	g.Expect(h.rt.Delete(context.Background(), "lost-one")).To(Succeed())
	g.Expect(lost).NotTo(BeADirectory())

	_, err = h.rt.Wait(context.Background(), "never-was")
	g.Expect(err).To(MatchError(ErrNotFound))
	err = h.rt.Delete(context.Background(), tk.id)
	g.Expect(err).To(HaveOccurred(), "a running container is not deleted")
}

func TestRunFailures(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t)
	tk := h.prepare(t, busybox, func(c *Config) { c.Args = []string{"/no/such/binary"} })
	_, err := h.rt.Run(context.Background(), tk.id, tk.runOptions())
	g.Expect(err).To(MatchError(ContainSubstring("no/such/binary")))
	_, err = h.rt.State(context.Background(), tk.id)
	g.Expect(err).To(MatchError(ErrNotFound), "a failed run leaves nothing behind")

	ok := h.prepare(t, busybox, sh("sleep 1000"))
	h.start(t, ok)
	_, err = h.rt.Run(context.Background(), ok.id, ok.runOptions())
	g.Expect(err).To(MatchError(ContainSubstring("exists")), "an ID runs once")

	link := h.prepare(t, busybox, sh("echo x"))
	g.Expect(os.Symlink("/etc/passwd", filepath.Join(link.sandbox, "stdout"))).To(Succeed())
	_, err = h.rt.Run(context.Background(), link.id, link.runOptions())
	g.Expect(err).To(MatchError(ContainSubstring("failed to open container output")), "output files are not followed through symlinks")
}

// TestAgentRestart runs containers from a separate process standing for the
// agent, kills that process with SIGKILL, and checks that a new driver on the same
// state directory re-adopts a running container and learns the true exit status
// of one that exited while no agent ran.
func TestAgentRestart(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t)
	state := h.rt.opts.Root
	h.rt.Close() // the test's own driver steps aside: the fake agent is alone
	running := h.prepare(t, busybox, sh(`trap 'exit 42' TERM; while true; do sleep 0.05; done`))
	exiting := h.prepare(t, busybox, sh(`sleep 0.5; exit 7`))

	for _, tk := range []*task{running, exiting} {
		agent := exec.Command("/proc/self/exe", "-test.run=^$")
		opts := tk.runOptions()
		agent.Env = append(os.Environ(), fakeAgentEnv+"=1", "STATE="+state, "RUNC="+runcPath(t),
			"ID="+tk.id, "BUNDLE="+opts.Bundle, "STDOUT="+opts.Stdout, "STDERR="+opts.Stderr)
		out, err := agent.StdoutPipe()
		g.Expect(err).NotTo(HaveOccurred())
		agent.Stderr = os.Stderr
		g.Expect(agent.Start()).To(Succeed())
		line, err := bufio.NewReader(out).ReadString('\n')
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(line).To(HavePrefix("running "))
		g.Expect(agent.Process.Signal(syscall.SIGKILL)).To(Succeed())
		_ = agent.Wait()
	}
	time.Sleep(time.Second) // "exiting" exits while no agent runs

	restarted, err := New(Options{Root: state, Runtime: runcPath(t)})
	g.Expect(err).NotTo(HaveOccurred())
	defer restarted.Close()
	h.rt = restarted // for cleanup
	list, err := restarted.List(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(list).To(ContainElement(SatisfyAll(HaveField("ID", running.id), HaveField("Status", StatusRunning))))
	g.Expect(list).To(ContainElement(SatisfyAll(HaveField("ID", exiting.id), HaveField("Status", StatusStopped),
		HaveField("Exit", HaveField("Code", 7)))))

	exit, err := restarted.Stop(context.Background(), running.id, 30*time.Second)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(exit).To(SatisfyAll(HaveField("Code", 42), HaveField("Signal", syscall.Signal(0)), HaveField("Unknown", false)))
	exit, err = restarted.Wait(context.Background(), exiting.id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(exit).To(SatisfyAll(HaveField("Code", 7), HaveField("Unknown", false)))
	for _, tk := range []*task{running, exiting} {
		g.Expect(restarted.Delete(context.Background(), tk.id)).To(Succeed())
	}
}

func TestVersion(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t)
	v, err := h.rt.Version(context.Background())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(v).To(HavePrefix("runc 1."))
}

var _ = errors.Is
var _ = image.RootfsOverlay

func TestSmallCPUQuotaIsSetAfterTheStart(t *testing.T) {
	t.Run("runc", func(t *testing.T) { testSmallCPUQuota(t, newHarness(t)) })
	// The quota is written to the container's cgroup, not through a second
	// runtime process on the launch path: a runtime that refuses to update
	// does not matter.
	t.Run("without runc update", func(t *testing.T) {
		wrapper := filepath.Join(t.TempDir(), "runc-without-update")
		script := "#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = update ] && { echo 'update refused' >&2; exit 1; }; done\nexec " + runcPath(t) + " \"$@\"\n"
		if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		testSmallCPUQuota(t, newHarnessOf(t, wrapper))
	})
}

func testSmallCPUQuota(t *testing.T, h *harness) {
	g := NewWithT(t)
	tk := h.prepare(t, busybox, func(c *Config) {
		c.Args = []string{"sleep", "1000"}
		c.Limits = Limits{MilliCPUs: 10, MemoryBytes: 32 << 20}
	})
	h.start(t, tk)
	read := cgroupReader(g, tk.id)
	if unifiedHost() {
		g.Expect(read("cpu", "cpu.max")).To(Equal("1000 100000"))
		g.Expect(read("memory", "memory.max")).To(Equal(strconv.Itoa(32 << 20)))
		return
	}
	g.Expect(read("cpu", "cpu.cfs_quota_us")).To(Equal("1000"))
	g.Expect(read("cpu", "cpu.shares")).To(Equal("10"))
	g.Expect(read("memory", "memory.limit_in_bytes")).To(Equal(strconv.Itoa(32 << 20)))
	g.Expect(read("pids", "pids.max")).To(Equal("4096"))
}

// cgroupReader returns a reader of the files of container id's cgroups.
func cgroupReader(g Gomega, id string) func(controller, file string) string {
	dirs := CgroupDirs(filepath.Join(DefaultCgroupParent, id))
	return func(controller, file string) string {
		data, err := os.ReadFile(filepath.Join(dirs[controller], file))
		g.Expect(err).NotTo(HaveOccurred())
		return strings.TrimSpace(string(data))
	}
}

func TestSmallCPUQuotaOfAContainerThatExitedAtOnce(t *testing.T) {
	g := NewWithT(t)
	h := newHarness(t)
	for i := range 5 { // the command may exit before or after the quota is set
		tk := h.prepare(t, busybox, func(c *Config) {
			c.Args = []string{"sh", "-c", "echo " + strconv.Itoa(i)}
			c.Limits = Limits{MilliCPUs: 10, MemoryBytes: 32 << 20}
		})
		h.start(t, tk)
		exit := h.wait(t, tk)
		g.Expect(exit.Code).To(BeZero())
		g.Expect(tk.output("stdout")).To(Equal(strconv.Itoa(i) + "\n"))
	}
}
