package tasks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/health"
	"meseta.dev/meseta/pkg/image"
	"meseta.dev/meseta/pkg/resources"
	"meseta.dev/meseta/pkg/runtime"
)

// Images is what the supervisor needs of an image store (*image.Store).
type Images interface {
	Pull(ctx context.Context, ref string) (*image.Image, error)
	Mount(img *image.Image, dir string, opts image.MountOptions) (*image.Rootfs, error)
	Unmount(dir string) error
}

// ExecFunc runs argv in the container id and returns its exit code and output;
// Command health checks use it.
type ExecFunc func(ctx context.Context, id string, argv []string) (code int, output string, err error)

// SupervisorConfig configures a Supervisor.
type SupervisorConfig struct {
	// Node is the name of the agent's node.
	Node string
	// Dir holds one directory per task (TasksDir of the work dir).
	Dir string
	// Runtime runs the containers.
	Runtime runtime.Runtime
	// Images pulls images and assembles root file systems.
	Images Images
	// InsecureRegistries are reached over plain HTTP (to tell a malformed image
	// reference from a failed pull).
	InsecureRegistries []string
	// Allocatable is what the node's tasks may use together.
	Allocatable resources.Vector
	// Clock drives health checks; default the real clock.
	Clock clock.WithTicker
	// HealthHost is where HTTP and TCP health checks connect; default 127.0.0.1.
	HealthHost string
	// Exec runs Command health checks; nil fails them.
	Exec ExecFunc
	// Logger logs what happens to containers outside of reconciles.
	Logger logr.Logger
	// ParallelStarts is how many containers are started (the runtime's run)
	// at once; zero is no limit. A burst of launches then starts its first
	// containers soon, rather than all of them late, and the runtime does not
	// thrash the node's CPUs.
	ParallelStarts int
}

// Supervisor runs the containers of a node's tasks and remembers what the agent
// knows of each: the in-memory side of the task reconciler. Long operations
// (pulling, running, waiting for exits, killing, health checks) run in its
// goroutines; each change calls the notify function so the task is reconciled.
// It is safe for concurrent use.
type Supervisor struct {
	cfg    SupervisorConfig
	notify func(types.NamespacedName)
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	starts chan struct{} // a slot per container being started; nil is no limit

	mu      sync.Mutex
	records map[types.UID]*record
	closing bool
}

// record is what the supervisor knows of one task's container.
type record struct {
	key   types.NamespacedName
	uid   types.UID
	id    string // container ID
	dir   string // task directory
	want  resources.Vector
	grace time.Duration
	image *image.Image

	phase       Phase
	startedAt   time.Time
	exit        *runtime.ExitStatus
	failure     *Failure
	killReason  v1alpha1.TaskReason
	killMessage string
	killing     bool            // a kill is in progress or done
	ctx         context.Context // ends when the container has exited, or its launch is stopped
	cancel      context.CancelFunc
	health      *health.Result
	healthOn    bool
	cleaned     bool // container deleted and root file system unmounted
	released    bool // the finalizer is off the task: the agent is done with it
	orphan      bool // being killed because no task wants it
}

// NewSupervisor returns a supervisor whose goroutines live until Close; notify
// is called (from any goroutine) whenever a task should be reconciled.
func NewSupervisor(cfg SupervisorConfig, notify func(types.NamespacedName)) *Supervisor {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.HealthHost == "" {
		cfg.HealthHost = "127.0.0.1"
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Supervisor{cfg: cfg, notify: notify, ctx: ctx, cancel: cancel, records: map[types.UID]*record{}}
	if cfg.ParallelStarts > 0 {
		s.starts = make(chan struct{}, cfg.ParallelStarts)
	}
	return s
}

// Close stops the supervisor's goroutines (containers keep running) and waits
// for them.
func (s *Supervisor) Close() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

func (s *Supervisor) goRun(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// Observe returns what the supervisor knows of the task uid, and false when it
// knows nothing.
func (s *Supervisor) Observe(uid types.UID) (Observation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[uid]
	if r == nil {
		return Observation{}, false
	}
	obs := Observation{
		Phase: r.phase, Sandbox: filepath.Join(r.dir, SandboxDirName), StartedAt: r.startedAt,
		Killing: r.killing, KillReason: r.killReason, KillMessage: r.killMessage,
	}
	if r.phase == PhaseRunning || r.phase == PhaseExited {
		obs.ContainerID = r.id
	}
	if r.exit != nil {
		e := *r.exit
		obs.Exit = &e
	}
	if r.failure != nil {
		f := *r.failure
		obs.Failure = &f
	}
	if r.health != nil {
		h := *r.health
		obs.Health = &h
	}
	return obs, true
}

// Cleaned reports whether the task's container is gone and its root file
// system unmounted (true for an unknown task).
func (s *Supervisor) Cleaned(uid types.UID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[uid]
	return r == nil || r.cleaned || r.phase == PhaseNone
}

// Admit decides whether the task may run on the node and, if so, starts
// preparing and running its container. A task that does not fit beside the
// tasks admitted before is refused (PhaseFailed, Error, Overcommitted). It does
// nothing for a task it knows already, or once the supervisor is closing.
func (s *Supervisor) Admit(t *v1alpha1.Task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records[t.UID] != nil || s.closing {
		return
	}
	inUse := s.inUseLocked()
	id := ContainerID(t.Namespace, t.Name, t.UID)
	r := &record{
		key: types.NamespacedName{Namespace: t.Namespace, Name: t.Name}, uid: t.UID, id: id,
		dir: filepath.Join(s.cfg.Dir, id), grace: killGracePeriod(t), phase: PhasePreparing,
	}
	s.records[t.UID] = r
	want, err := resources.FromAPI(t.Spec.Resources)
	if err != nil {
		r.phase = PhaseFailed
		r.failure = &Failure{State: v1alpha1.TaskError, Reason: v1alpha1.ReasonTaskInvalid, Message: fmt.Sprintf("spec.resources: %v", err)}
		return
	}
	r.want = want
	if err := Fit(s.cfg.Allocatable, inUse, want); err != nil {
		r.phase = PhaseFailed
		r.failure = &Failure{State: v1alpha1.TaskError, Reason: v1alpha1.ReasonOvercommitted, Message: capitalize(err.Error())}
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	r.ctx, r.cancel = ctx, cancel
	task := t.DeepCopy()
	s.goRun(func() { s.launch(ctx, r, task) })
}

// inUseLocked sums the resources of the containers being prepared or running.
func (s *Supervisor) inUseLocked() resources.Vector {
	var sum resources.Vector
	for _, r := range s.records {
		if r.phase == PhasePreparing || r.phase == PhaseRunning {
			sum = sum.Add(r.want)
		}
	}
	return sum
}

// InUse returns the resources of the containers being prepared or running.
func (s *Supervisor) InUse() resources.Vector {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inUseLocked()
}

// Kill kills the task's container, or stops its preparation: SIGTERM, then
// SIGKILL after the task's kill grace period. The first reason given decides
// the task's terminal state (see NextStatus); an empty reason kills without
// one (for a task whose status is terminal already).
func (s *Supervisor) Kill(uid types.UID, reason v1alpha1.TaskReason, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.records[uid]; r != nil {
		s.killLocked(r, reason, message)
	}
}

func (s *Supervisor) killLocked(r *record, reason v1alpha1.TaskReason, message string) {
	if r.killReason == "" && !r.killing && (r.phase == PhasePreparing || r.phase == PhaseRunning) {
		r.killReason, r.killMessage = reason, message
	}
	switch r.phase {
	case PhasePreparing:
		if r.cancel != nil {
			r.cancel() // launch reports the kill when it stops
		}
		r.killing = true
	case PhaseRunning:
		if r.killing {
			return
		}
		r.killing = true
		s.goRun(func() { s.stop(r) })
	}
}

// stop kills a running container and records its exit.
func (s *Supervisor) stop(r *record) {
	exit, err := s.cfg.Runtime.Stop(s.ctx, r.id, r.grace)
	if err != nil {
		if s.ctx.Err() == nil {
			s.cfg.Logger.Error(err, "Failed to kill container; waiting for it to exit", "container", r.id, "task", r.key)
		}
		return // the waiter reports the exit
	}
	s.exited(r, exit)
}

// exited records the exit of a running container.
func (s *Supervisor) exited(r *record, exit runtime.ExitStatus) {
	s.mu.Lock()
	if r.phase != PhaseRunning {
		s.mu.Unlock()
		return
	}
	r.phase, r.exit = PhaseExited, &exit
	if r.cancel != nil {
		r.cancel() // stops the health checks
	}
	s.mu.Unlock()
	s.cfg.Logger.V(1).Info("Container exited", "container", r.id, "task", r.key, "exit", exit.String())
	s.notify(r.key)
}

// watch waits for a running container to exit and records how it did.
func (s *Supervisor) watch(r *record) {
	for delay := time.Second; ; delay = min(2*delay, 30*time.Second) {
		exit, err := s.cfg.Runtime.Wait(s.ctx, r.id)
		if err == nil {
			s.exited(r, exit)
			return
		}
		if s.ctx.Err() != nil {
			return
		}
		if errors.Is(err, runtime.ErrNotFound) {
			s.vanished(r)
			return
		}
		s.cfg.Logger.Error(err, "Failed to wait for container; retrying", "container", r.id, "task", r.key, "retryIn", delay)
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// vanished records that the runtime lost a container.
func (s *Supervisor) vanished(r *record) {
	s.mu.Lock()
	if r.phase != PhaseRunning {
		s.mu.Unlock()
		return
	}
	r.phase = PhaseVanished
	if r.cancel != nil {
		r.cancel()
	}
	s.mu.Unlock()
	s.notify(r.key)
}

// EnsureHealthChecks starts the health checks of a running task that has a
// health check and none running yet.
func (s *Supervisor) EnsureHealthChecks(t *v1alpha1.Task) {
	if t.Spec.HealthCheck == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[t.UID]
	if r == nil || r.phase != PhaseRunning || r.healthOn || r.killing || s.closing {
		return
	}
	r.healthOn = true
	spec := health.SpecFrom(t.Spec.HealthCheck)
	exec := func(ctx context.Context, argv []string) (int, string, error) {
		if s.cfg.Exec == nil {
			return 0, "", errors.New("the agent cannot run commands in containers")
		}
		return s.cfg.Exec(ctx, r.id, argv)
	}
	prober, err := health.NewProber(spec, s.cfg.HealthHost, exec)
	if err != nil {
		r.health = &health.Result{Message: fmt.Sprintf("Invalid health check: %v", err)}
		return
	}
	ctx, started := r.ctx, r.startedAt
	s.goRun(func() {
		health.Run(ctx, s.cfg.Clock, spec, started, prober, func(res health.Result) { s.healthResult(r, res) })
	})
}

// healthResult records a health check result, and kills the task when it
// failed too often.
func (s *Supervisor) healthResult(r *record, res health.Result) {
	s.mu.Lock()
	r.health = &res
	if res.Kill {
		s.killLocked(r, v1alpha1.ReasonHealthCheckFailed, res.Message)
	}
	s.mu.Unlock()
	s.notify(r.key)
}

// Cleanup deletes the container of a task that is not running any more and
// unmounts its root file system; the sandbox stays for its logs until garbage
// collection. It is idempotent.
func (s *Supervisor) Cleanup(ctx context.Context, uid types.UID) error {
	s.mu.Lock()
	r := s.records[uid]
	if r == nil || r.cleaned || r.phase == PhasePreparing || r.phase == PhaseRunning {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	if err := s.removeContainer(ctx, r); err != nil {
		return err
	}
	s.mu.Lock()
	r.cleaned = true
	s.mu.Unlock()
	return nil
}

func (s *Supervisor) removeContainer(ctx context.Context, r *record) error {
	if err := s.cfg.Runtime.Delete(ctx, r.id); err != nil {
		return fmt.Errorf("failed to delete container %s: %w", r.id, err)
	}
	if err := s.cfg.Images.Unmount(r.dir); err != nil {
		return fmt.Errorf("failed to unmount the root file system of %s: %w", r.id, err)
	}
	if err := os.RemoveAll(filepath.Join(r.dir, BundleDirName)); err != nil {
		return err
	}
	return nil
}

// Forget drops what the supervisor knows of a task whose container is cleaned
// up, once the task is gone from the API.
func (s *Supervisor) Forget(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.records[uid]; r != nil && r.cleaned {
		delete(s.records, uid)
	}
}

// Keys returns the tasks the supervisor knows of.
func (s *Supervisor) Keys() []types.NamespacedName {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]types.NamespacedName, 0, len(s.records))
	for _, r := range s.records {
		keys = append(keys, r.key)
	}
	return keys
}

// NotifyAll asks for every known task to be reconciled.
func (s *Supervisor) NotifyAll() {
	for _, k := range s.Keys() {
		s.notify(k)
	}
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// StopAll refuses further launches and kills every container being prepared or
// running, with reason (the agent of `meseta dev` stopping). The reconciler
// then reports each task and cleans it up; Settled tells when it is done.
func (s *Supervisor) StopAll(reason v1alpha1.TaskReason, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for _, r := range s.records {
		s.killLocked(r, reason, message)
	}
}

// Released records that the task's finalizer is removed: its final status is
// written and its container gone.
func (s *Supervisor) Released(uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.records[uid]; r != nil && r.cleaned {
		r.released = true
	}
}

// Settled reports whether no container is being prepared or running and every
// known task is reported, cleaned up and released.
func (s *Supervisor) Settled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.records {
		if !r.cleaned || !r.released {
			return false
		}
	}
	return true
}
