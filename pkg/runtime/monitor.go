package runtime

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// init turns this process into the monitor when it was started as one: the
// driver re-executes its own binary with argv[0] set to monitorArgv0.
func init() {
	if len(os.Args) > 0 && os.Args[0] == monitorArgv0 {
		os.Exit(monitorMain(os.Args[1:]))
	}
}

// monitor is the long-lived process that runs containers and observes their
// exits. It is a child subreaper: the OCI runtime it starts (runc run -d) exits
// once the container runs, and the container's init process is re-parented to the
// monitor, which can then wait(2) for it and learn its exact exit status.
type monitor struct {
	root string

	mu        sync.Mutex
	waiters   map[int]chan unix.WaitStatus // runtime processes being waited for
	watches   map[int]*watch               // container init processes
	unclaimed map[int]unix.WaitStatus      // exits nobody waited for yet
	sessions  int
	inflight  int
	closing   bool
}

// watch is a container init process and where its exit goes.
type watch struct {
	id        string
	exitFile  string
	memoryDir string
}

// monitorMain runs the monitor until it is idle: no driver session, no request,
// no container to watch.
func monitorMain(args []string) int {
	fs := flag.NewFlagSet(monitorArgv0, flag.ContinueOnError)
	root := fs.String("root", "", "state directory")
	if err := fs.Parse(args); err != nil || *root == "" {
		fmt.Fprintln(os.Stderr, "usage: meseta-runtime-monitor --root DIR")
		return 2
	}
	log.SetPrefix(fmt.Sprintf("monitor[%d] ", os.Getpid()))
	lock, err := lockWithin(filepath.Join(*root, monitorLock), 3*time.Second)
	if err != nil {
		log.Printf("another monitor runs (%v)", err)
		return 0
	}
	defer lock.Close()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		log.Printf("cannot become a subreaper: %v", err)
		return 1
	}
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGPIPE)
	m := &monitor{root: *root, waiters: map[int]chan unix.WaitStatus{}, watches: map[int]*watch{}, unclaimed: map[int]unix.WaitStatus{}}
	go m.reap()
	sock := filepath.Join(*root, monitorSocket)
	_ = os.Remove(sock)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		log.Printf("cannot listen: %v", err)
		return 1
	}
	ln.SetUnlinkOnClose(false)
	go m.exitWhenIdle(ln, sock)
	for {
		conn, err := ln.Accept()
		if err != nil {
			return 0 // closed when idle
		}
		m.mu.Lock()
		if m.closing {
			m.mu.Unlock()
			conn.Close()
			continue
		}
		m.inflight++
		m.mu.Unlock()
		go m.serve(conn)
	}
}

// lockWithin takes an exclusive flock, retrying until timeout.
func lockWithin(path string, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		if err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err == nil {
			return f, nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exitWhenIdle stops the monitor after two idle seconds. It closes the listener
// under the lock, so a connection is either being served or refused.
func (m *monitor) exitWhenIdle(ln *net.UnixListener, sock string) {
	idle := 0
	for range time.Tick(500 * time.Millisecond) {
		m.mu.Lock()
		if m.sessions == 0 && m.inflight == 0 && len(m.watches) == 0 {
			idle++
		} else {
			idle = 0
		}
		if idle >= 4 {
			m.closing = true
			_ = os.Remove(sock)
			ln.Close()
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
	}
}

func (m *monitor) serve(conn net.Conn) {
	defer conn.Close()
	defer m.done(&m.inflight)
	r := bufio.NewReader(conn)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return
	}
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		_ = json.NewEncoder(conn).Encode(response{Error: "bad request: " + err.Error()})
		return
	}
	switch req.Op {
	case opSession:
		m.mu.Lock()
		m.sessions++
		m.mu.Unlock()
		defer m.done(&m.sessions)
		_, _ = r.ReadBytes('\n') // until the driver closes
	case opRun:
		_ = json.NewEncoder(conn).Encode(m.run(req))
	default:
		_ = json.NewEncoder(conn).Encode(response{Error: "unknown op " + req.Op})
	}
}

func (m *monitor) done(counter *int) {
	m.mu.Lock()
	*counter--
	m.mu.Unlock()
}

// run starts the OCI runtime with the container's output files as its standard
// output and error (the runtime passes them on to the container), waits for it,
// and watches the container's init process.
func (m *monitor) run(req request) response {
	files, err := openStdio(req.Stdout, req.Stderr)
	if err != nil {
		return response{Error: err.Error()}
	}
	p, err := os.StartProcess(req.Argv[0], req.Argv, &os.ProcAttr{Files: files, Env: os.Environ()})
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		return response{Error: fmt.Sprintf("failed to start %s: %v", req.Argv[0], err)}
	}
	ws := m.waitFor(p.Pid)
	_ = p.Release()
	if !ws.Exited() || ws.ExitStatus() != 0 {
		return response{Error: fmt.Sprintf("%s failed (%s): %s", filepath.Base(req.Argv[0]), describe(ws), runtimeError(req.LogFile))}
	}
	data, err := os.ReadFile(req.PidFile)
	if err != nil {
		return response{Error: fmt.Sprintf("runtime wrote no pid file: %v", err)}
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return response{Error: fmt.Sprintf("bad pid file %q", data)}
	}
	start, _ := processStartTime(pid) // 0 if it has exited already
	memDir := req.MemoryCgroup
	if memDir == "" {
		memDir, _ = MemoryCgroupDir(pid)
	}
	m.watch(pid, &watch{id: req.ID, exitFile: req.ExitFile, memoryDir: memDir})
	return response{Pid: pid, StartTime: start, MemoryCgroup: memDir}
}

func openStdio(stdout, stderr string) ([]*os.File, error) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	files := []*os.File{null}
	for _, p := range []string{stdout, stderr} {
		if p == "" {
			p = os.DevNull
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err != nil {
			for _, o := range files {
				o.Close()
			}
			return nil, fmt.Errorf("failed to open container output %s: %w", p, err)
		}
		files = append(files, f)
	}
	return files, nil
}

// runtimeError extracts the last error message of a runtime's JSON log.
func runtimeError(logFile string) string {
	data, err := os.ReadFile(logFile)
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var entry struct{ Level, Msg string }
		if json.Unmarshal([]byte(lines[i]), &entry) == nil && (entry.Level == "error" || entry.Level == "fatal") {
			return entry.Msg
		}
	}
	return lines[len(lines)-1]
}

func describe(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exit code %d", ws.ExitStatus())
}

// reap collects every child that exits: runtime processes, re-parented container
// init processes and strays, and hands each status to whoever waits for it.
func (m *monitor) reap() {
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, syscall.SIGCHLD)
	tick := time.NewTicker(time.Second) // in case a SIGCHLD was coalesced away
	for {
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
			m.exited(pid, ws)
		}
		select {
		case <-sigs:
		case <-tick.C:
		}
	}
}

func (m *monitor) exited(pid int, ws unix.WaitStatus) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ch, ok := m.waiters[pid]; ok {
		delete(m.waiters, pid)
		ch <- ws
		return
	}
	if w, ok := m.watches[pid]; ok {
		go m.finish(pid, w, ws)
		return
	}
	if len(m.unclaimed) > 4096 {
		clear(m.unclaimed)
	}
	m.unclaimed[pid] = ws
}

// waitFor returns the exit status of a child process.
func (m *monitor) waitFor(pid int) unix.WaitStatus {
	m.mu.Lock()
	if ws, ok := m.unclaimed[pid]; ok {
		delete(m.unclaimed, pid)
		m.mu.Unlock()
		return ws
	}
	ch := make(chan unix.WaitStatus, 1)
	m.waiters[pid] = ch
	m.mu.Unlock()
	return <-ch
}

// watch starts watching a container's init process, which may have exited (and
// been reaped) already.
func (m *monitor) watch(pid int, w *watch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ws, ok := m.unclaimed[pid]; ok {
		delete(m.unclaimed, pid)
		go m.finish(pid, w, ws)
	}
	m.watches[pid] = w
}

// finish records a container's exit: the wait status, and OOM kills read from its
// memory cgroup (which lives until the container is deleted). The OOM killer
// counts its kill just after sending SIGKILL, so a SIGKILL with no count yet is
// looked at again briefly.
func (m *monitor) finish(pid int, w *watch, ws unix.WaitStatus) {
	status := ExitStatus{Pid: pid, FinishedAt: time.Now().UTC()}
	if ws.Signaled() {
		status.Signal = ws.Signal()
	} else {
		status.Code = ws.ExitStatus()
	}
	for i := 0; i < 10; i++ {
		kills, err := OOMKills(w.memoryDir)
		status.OOMKills, status.OOMKilled = kills, kills > 0
		if err != nil || kills > 0 || status.Signal != syscall.SIGKILL {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := writeJSONFile(w.exitFile, status); err != nil && !errors.Is(err, os.ErrNotExist) {
		log.Printf("cannot record the exit of container %s: %v", w.id, err)
	}
	m.mu.Lock()
	delete(m.watches, pid)
	m.mu.Unlock()
}
