package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/simulate"
	"meseta.dev/meseta/pkg/resources"
	"meseta.dev/meseta/pkg/sdk"
)

// master is a `meseta master` process on a temporary data dir.
type master struct {
	cmd     *exec.Cmd
	dataDir string
	rest    *rest.Config
	done    chan struct{}
}

// startMaster starts the meseta binary's master with its embedded etcd and
// built-in controllers, with the bench's -memory-limit, and returns once its
// API serves Meseta's kinds.
func startMaster(ctx context.Context, env *env) (*master, error) {
	dir, err := os.MkdirTemp(env.tmp, "master-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// With -profiles the master's log is kept beside its profiles.
	logDir := dir
	if env.profiles != "" {
		logDir = env.profiles
	}
	logFile, err := os.Create(filepath.Join(logDir, fmt.Sprintf("master-%s.log", filepath.Base(dir))))
	if err != nil {
		return nil, err
	}
	args := []string{"master", "--data-dir", filepath.Join(dir, "data"), "--port", strconv.Itoa(port)}
	if env.memoryLimit != "" {
		args = append(args, "--memory-limit", env.memoryLimit)
	}
	cmd := exec.Command(env.meseta, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start %s: %w", env.meseta, err)
	}
	m := &master{cmd: cmd, dataDir: filepath.Join(dir, "data"), done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(m.done) }()
	if err := m.waitReady(ctx); err != nil {
		m.stop()
		return nil, fmt.Errorf("%w (see %s)", err, logFile.Name())
	}
	return m, nil
}

// waitReady waits for the admin kubeconfig and for Tasks to be served.
func (m *master) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-m.done:
			return errors.New("the master exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if m.rest == nil {
			rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(m.dataDir, "admin.kubeconfig"))
			if err != nil {
				continue
			}
			rc.QPS, rc.Burst = 1000, 2000
			m.rest = rc
		}
		c, err := client.New(m.rest, client.Options{Scheme: sdk.Scheme()})
		if err != nil {
			continue
		}
		if err := c.List(ctx, &v1alpha1.JobList{}, client.Limit(1)); err == nil {
			return nil
		}
	}
	return errors.New("the master was not ready within 3 minutes")
}

// config returns a copy of the admin's REST config.
func (m *master) config() *rest.Config { return rest.CopyConfig(m.rest) }

// client returns an admin client.
func (m *master) client() (client.Client, error) {
	return client.New(m.config(), client.Options{Scheme: sdk.Scheme()})
}

// rssBytes returns the master process's resident set size now.
func (m *master) rssBytes() (int64, error) { return m.procStatusBytes("VmRSS:") }

// peakRSSBytes returns the largest resident set size the master process has
// had since it started (its high-water mark).
func (m *master) peakRSSBytes() (int64, error) { return m.procStatusBytes("VmHWM:") }

// procStatusBytes reads a size in kB (such as VmRSS:) from the master
// process's /proc status.
func (m *master) procStatusBytes(name string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", m.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == name {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc status", name)
}

// cpuSeconds returns the CPU time (user and system) the master process used.
func (m *master) cpuSeconds() (float64, error) {
	return processCPUSeconds(m.cmd.Process.Pid)
}

// processCPUSeconds reads a process's user and system CPU time from /proc.
func processCPUSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name (which may hold spaces) start after ")".
	i := strings.LastIndexByte(string(data), ')')
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return (utime + stime) / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc's CPU times on Linux.
const clockTicks = 100

// etcdBytes returns the size of the embedded etcd's database file.
func (m *master) etcdBytes() (int64, error) {
	var size int64
	err := filepath.Walk(filepath.Join(m.dataDir, "etcd"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Name() == "db" && !fi.IsDir() {
			size = fi.Size()
		}
		return nil
	})
	return size, err
}

// stop stops the master (SIGTERM, then SIGKILL after 30s) and removes its
// data dir.
func (m *master) stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.done
	}
	_ = os.RemoveAll(filepath.Dir(m.dataDir))
}

// startFleet runs n simulated nodes against m until ctx ends, and returns once
// they are registered; rec, when not nil, records their calls' latencies.
// Each node watches its own tasks, as a real agent does.
func startFleet(ctx context.Context, env *env, m *master, n int, rec *latencies) (*simulate.Fleet, error) {
	cfg := m.config()
	if rec != nil {
		cfg.WrapTransport = rec.wrapFor("agents")
	}
	f, err := simulate.NewFleet(simulate.Config{
		REST: cfg, Nodes: simulate.NodeNames("sim", n),
		Allocatable: mustResources(simulate.DefaultResources),
		// Each node speaks as its agent: the master queues and limits it as
		// it would a real agent (priority and fairness), not as its admin.
		NodeIdentities: true,
		// The real agent's heartbeat interval and Lease duration (the defaults).
	})
	if err != nil {
		return nil, err
	}
	errc := make(chan error, 1)
	go func() { errc <- f.Run(ctx) }()
	select {
	case <-f.Ready():
		return f, nil
	case err := <-errc:
		return nil, fmt.Errorf("the simulated nodes stopped: %w", err)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func mustResources(spec string) v1alpha1.Resources { return resources.MustParse(spec).ToAPI() }
