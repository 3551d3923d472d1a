package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"meseta.dev/meseta/e2e/faults/history"
	"meseta.dev/meseta/pkg/freeport"
)

// agent is one `meseta agent` process, its work dir and, with netns, its
// network namespace.
type agent struct {
	c       *cluster
	node    string
	res     string
	workDir string
	logPath string
	ip      string // the address it binds and publishes
	netns   string // empty: the host's network
	port    int
	master  int // the master whose kubeconfig it uses
	proc    *process
}

// newAgent prepares agent i; start starts it.
func (c *cluster) newAgent(i int, spec agentSpec) *agent {
	a := &agent{c: c, node: spec.node, res: spec.resources, ip: "127.0.0.1",
		workDir: filepath.Join(c.dir, "agent-"+spec.node), logPath: filepath.Join(c.dir, "agent-"+spec.node+".log")}
	if c.net != nil {
		a.netns, a.ip = c.net.namespace(i), c.net.agentIP(i)
	}
	a.port = freeport.On(c.t, "127.0.0.1")
	c.t.Cleanup(a.cleanup)
	return a
}

// start starts the agent on its work dir.
func (a *agent) start() {
	a.c.t.Helper()
	argv := []string{binPath(a.c.t, "meseta"), "agent", "--kubeconfig", a.c.masters[a.master].kubeconfig,
		"--node-name", a.node, "--work-dir", a.workDir, "--runtime", binPath(a.c.t, "runc"),
		"--resources", a.res, "--attributes", "node:" + a.node,
		"--bind-address", a.ip, "--address", a.ip, "--port", strconv.Itoa(a.port),
		"--heartbeat-interval", "500ms", "--lease-duration", "3s", "--node-status-interval", "2s"}
	if a.netns != "" {
		argv = append([]string{"nsenter", "--net=/run/netns/" + a.netns, "--"}, argv...)
	}
	a.proc = startProcess(a.c.t, "agent "+a.node, a.logPath, nil, argv...)
	a.c.logf("started agent %s", a.node)
}

// kill SIGKILLs the agent; its containers and runtime monitor live on.
func (a *agent) kill() {
	a.proc.kill()
	a.c.logf("SIGKILLed agent %s", a.node)
}

// runcRoot is the state directory runc keeps the agent's containers in.
func (a *agent) runcRoot() string { return filepath.Join(a.workDir, "runtime", "runc") }

// containers lists the containers of the agent's runtime.
func (a *agent) containers() ([]history.Container, error) {
	out, err := run("", binPath(a.c.t, "runc"), "--root", a.runcRoot(), "list", "--format", "json")
	if err != nil {
		return nil, fmt.Errorf("runc list: %v: %s", err, out)
	}
	var listed []struct {
		ID          string            `json:"id"`
		Pid         int               `json:"pid"`
		Status      string            `json:"status"`
		Created     time.Time         `json:"created"`
		Annotations map[string]string `json:"annotations"`
	}
	if s := strings.TrimSpace(out); s != "" && s != "null" {
		if err := json.Unmarshal([]byte(s), &listed); err != nil {
			return nil, fmt.Errorf("runc list: %v: %s", err, out)
		}
	}
	cs := make([]history.Container, 0, len(listed))
	for _, l := range listed {
		cs = append(cs, history.Container{ID: l.ID, Status: l.Status, Pid: l.Pid, Created: l.Created,
			TaskNamespace: l.Annotations["meseta.dev/task-namespace"], TaskName: l.Annotations["meseta.dev/task-name"],
			TaskUID: l.Annotations["meseta.dev/task-uid"], AnnotatedNode: l.Annotations["meseta.dev/node"]})
	}
	return cs, nil
}

// cleanup stops the agent, then removes every container it left and stops its
// runtime monitor, so that nothing outlives the test.
func (a *agent) cleanup() {
	if a.proc != nil {
		_ = a.proc.stop(30 * time.Second)
	}
	root := a.runcRoot()
	runc := filepath.Join(binDir(a.c.t), "runc")
	if out, err := run("", runc, "--root", root, "list", "--quiet"); err == nil {
		for _, id := range strings.Fields(out) {
			_, _ = run("", runc, "--root", root, "kill", id, "KILL")
			if out, err := run("", runc, "--root", root, "delete", "--force", id); err != nil {
				a.c.t.Errorf("failed to delete container %s of %s: %v: %s", id, a.node, err, out)
			}
		}
	}
	killMonitors(filepath.Join(a.workDir, "runtime"))
	unmountUnder(a.workDir)
}

// unmountUnder detaches every mount below dir (the root file systems of
// containers the agent did not get to remove), deepest first.
func unmountUnder(dir string) {
	data, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], dir+"/") {
			points = append(points, f[1])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		_ = syscall.Unmount(points[i], syscall.MNT_DETACH)
	}
}

// killMonitors SIGKILLs the runtime monitors serving the state directory root.
func killMonitors(root string) {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
		if len(argv) >= 3 && strings.HasSuffix(argv[0], "meseta-runtime-monitor") && argv[len(argv)-1] == root {
			if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// sampleOnce records what every agent's runtime runs now.
func (c *cluster) sampleOnce() {
	for _, a := range c.agents {
		cs, err := a.containers()
		if err != nil {
			continue // the state directory is changing under runc; next time
		}
		c.hist.AddSample(history.Sample{At: time.Now(), Node: a.node, Containers: cs})
	}
}
