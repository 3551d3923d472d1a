package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/fields"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/hostresources"
	"meseta.dev/meseta/pkg/agent/logs"
	"meseta.dev/meseta/pkg/agent/node"
	"meseta.dev/meseta/pkg/agent/tasks"
	"meseta.dev/meseta/pkg/image"
	"meseta.dev/meseta/pkg/resources"
	"meseta.dev/meseta/pkg/runtime"
	"meseta.dev/meseta/pkg/version"
)

// LeaseNamespace holds the agents' Leases (the master's system namespace).
const LeaseNamespace = "meseta-system"

// Directories of the work dir.
const (
	TasksDir   = "tasks"
	ImagesDir  = "images"
	RuntimeDir = "runtime"
	PKIDir     = "pki"
)

// Agent is a running agent.
type Agent struct {
	cfg        *Config
	rt         *runtime.OCI
	store      *image.Store
	supervisor *tasks.Supervisor
	server     *logs.Server
	mgr        manager.Manager
	runtimeVer string
	caBundle   string

	mu      sync.Mutex
	problem string

	done chan struct{}
	err  error
}

// Start starts an agent and returns once its node is registered and it
// reconciles the node's tasks. It runs until ctx ends; Done is closed when it
// has stopped. It starts, in order:
//
//  1. the OCI runtime driver (and its monitor) on WORK-DIR/runtime, and the
//     image store on WORK-DIR/images;
//  2. the HTTPS endpoint for task logs, with its serving certificate in
//     WORK-DIR/pki;
//  3. the Node: created if missing, its status written, its Lease renewed;
//  4. the re-adoption of the containers an earlier agent left running;
//  5. the controller manager: the task controller on a cache of the tasks bound
//     to this node, the heartbeat, the endpoint and garbage collection.
//
// It stops in the reverse order. With KillTasksOnExit, it first kills every
// task and waits (while the API is still there) until each is reported Killed
// and cleaned up.
func Start(ctx context.Context, cfg *Config) (*Agent, error) {
	o := cfg.Options
	logger := klog.FromContext(ctx).WithValues("node", o.NodeName)
	ctx = klog.NewContext(ctx, logger)
	a := &Agent{cfg: cfg, done: make(chan struct{})}
	if err := a.openRuntime(ctx); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			a.closeRuntime()
		}
	}()
	clientset, err := node.NewClientset(cfg.REST)
	if err != nil {
		return nil, err
	}
	if err := a.openEndpoint(clientset); err != nil {
		return nil, err
	}
	scheme := apiruntime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), v1alpha1.AddToScheme(scheme)); err != nil {
		return nil, err
	}
	direct, err := client.New(cfg.REST, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	hb := &node.Heartbeat{
		Client: direct, Leases: clientset, Node: o.NodeName, LeaseNamespace: LeaseNamespace, Facts: a.facts,
		Interval: o.HeartbeatInterval, LeaseDuration: o.LeaseDuration, StatusInterval: o.NodeStatusInterval,
	}
	if err := hb.Register(ctx); err != nil {
		return nil, err
	}
	mgrCtx, stopManager := context.WithCancel(context.WithoutCancel(ctx))
	mgrDone, err := a.startManager(ctx, mgrCtx, scheme, hb, logger)
	if err != nil {
		stopManager()
		return nil, err
	}
	ok = true
	logger.Info("Agent ready", "workDir", o.WorkDir, "address", cfg.Address, "port", a.server.Port(),
		"runtime", a.runtimeVer, "allocatable", hostresources.FormatResources(cfg.Allocatable))
	go a.run(ctx, stopManager, mgrDone)
	return a, nil
}

// openRuntime creates the work dir's directories, the runtime driver and the
// image store.
func (a *Agent) openRuntime(ctx context.Context) error {
	o := a.cfg.Options
	for _, d := range []string{TasksDir, ImagesDir, RuntimeDir, PKIDir} {
		if err := os.MkdirAll(filepath.Join(o.WorkDir, d), 0o755); err != nil {
			return fmt.Errorf("--work-dir: %w", err)
		}
	}
	rt, err := runtime.New(runtime.Options{Root: filepath.Join(o.WorkDir, RuntimeDir), Runtime: o.Runtime})
	if err != nil {
		return fmt.Errorf("--runtime: %w", err)
	}
	a.rt = rt
	if a.runtimeVer, err = rt.Version(ctx); err != nil {
		a.setProblem(fmt.Sprintf("The OCI runtime %s does not work: %v", o.Runtime, err))
		a.runtimeVer = filepath.Base(o.Runtime)
	}
	store, err := image.NewStore(image.Options{Root: filepath.Join(o.WorkDir, ImagesDir), InsecureRegistries: o.InsecureRegistries})
	if err != nil {
		rt.Close()
		return err
	}
	a.store = store
	return nil
}

func (a *Agent) closeRuntime() {
	if a.rt != nil {
		a.rt.Close()
	}
}

// openEndpoint prepares the serving certificate and listens for log requests.
func (a *Agent) openEndpoint(clientset kubernetes.Interface) error {
	o := a.cfg.Options
	hosts := slices.Compact([]string{a.cfg.Address, o.NodeName, "127.0.0.1", "localhost"})
	cert, err := logs.EnsureServingCert(filepath.Join(o.WorkDir, PKIDir), hosts)
	if err != nil {
		return err
	}
	authn, authz, err := delegatedAuth(a.cfg.REST, clientset)
	if err != nil {
		return err
	}
	srv, err := logs.NewServer(logs.ServerConfig{
		Address: net.JoinHostPort(o.BindAddress, strconv.Itoa(o.Port)), Cert: cert,
		Authenticator: authn, Authorizer: authz, Tasks: &taskFiles{agent: a},
	})
	if err != nil {
		return fmt.Errorf("--port: %w", err)
	}
	a.server, a.caBundle = srv, string(cert.CABundle)
	return nil
}

// startManager builds the supervisor, re-adopts containers and starts the
// controller manager; it returns once the manager's cache holds the node's
// tasks.
func (a *Agent) startManager(ctx, mgrCtx context.Context, scheme *apiruntime.Scheme, hb *node.Heartbeat, logger logr.Logger) (<-chan error, error) {
	o := a.cfg.Options
	mgr, err := manager.New(a.cfg.REST, manager.Options{
		Scheme: scheme,
		Logger: logger,
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&v1alpha1.Task{}: {Field: fields.OneTermEqualSelector("spec.nodeName", o.NodeName)},
		}, DefaultTransform: cache.TransformStripManagedFields()},
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		GracefulShutdownTimeout: ptr(30 * time.Second),
	})
	if err != nil {
		return nil, err
	}
	a.mgr = mgr
	allocatable, err := resources.FromAPI(a.cfg.Allocatable)
	if err != nil {
		return nil, fmt.Errorf("allocatable resources: %w", err)
	}
	notifier := tasks.NewNotifier(mgrCtx.Done())
	a.supervisor = tasks.NewSupervisor(tasks.SupervisorConfig{
		Node: o.NodeName, Dir: filepath.Join(o.WorkDir, TasksDir), Runtime: a.rt, Images: a.store,
		InsecureRegistries: o.InsecureRegistries, Allocatable: allocatable, Exec: a.exec,
		Logger: logger.WithName("supervisor"), ParallelStarts: o.ParallelStarts,
	}, notifier.Notify)
	adopted, err := a.supervisor.Adopt(ctx)
	if err != nil {
		return nil, err
	}
	logger.Info("Recovered containers from the runtime", "adopted", adopted)
	r := &tasks.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Node: o.NodeName, Supervisor: a.supervisor}
	if err := r.SetupWithManager(mgr, notifier, o.Concurrency); err != nil {
		return nil, err
	}
	for _, runnable := range []manager.Runnable{tasks.Resync(mgr, a.supervisor), hb, a.server, manager.RunnableFunc(a.collectGarbage)} {
		if err := mgr.Add(runnable); err != nil {
			return nil, err
		}
	}
	if _, err := mgr.GetCache().GetInformer(ctx, &v1alpha1.Task{}); err != nil {
		return nil, err
	}
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(mgrCtx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		err := errors.New("the agent stopped before its task cache synced")
		select {
		case e := <-mgrDone:
			err = fmt.Errorf("the controller manager stopped: %w", e)
		default:
		}
		return nil, err
	}
	return mgrDone, nil
}

// run waits for ctx to end (or the manager to fail) and stops the agent.
func (a *Agent) run(ctx context.Context, stopManager context.CancelFunc, mgrDone <-chan error) {
	defer close(a.done)
	logger := klog.FromContext(ctx)
	var mgrErr error
	stopped := false
	select {
	case <-ctx.Done():
	case mgrErr = <-mgrDone:
		stopped = true
	}
	if a.cfg.Options.KillTasksOnExit && !stopped {
		a.killAll(logger)
	}
	logger.Info("Stopping agent")
	stopManager()
	if !stopped {
		mgrErr = <-mgrDone
	}
	a.supervisor.Close()
	a.closeRuntime()
	if mgrErr != nil && ctx.Err() == nil {
		a.err = fmt.Errorf("the controller manager stopped: %w", mgrErr)
	}
	logger.Info("Agent stopped")
}

// killAll kills every task and waits until each is reported and cleaned up.
func (a *Agent) killAll(logger logr.Logger) {
	logger.Info("Killing every task before stopping")
	a.supervisor.StopAll(v1alpha1.ReasonAgentDrained, "Killed because the agent stopped")
	deadline := time.Now().Add(killAllTimeout)
	for !a.supervisor.Settled() {
		if time.Now().After(deadline) {
			logger.Info("Gave up waiting for the tasks to be reported killed", "timeout", killAllTimeout)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killAllTimeout bounds how long a stopping agent waits for its killed tasks
// to be reported.
const killAllTimeout = 2 * time.Minute

// Done is closed when the agent has stopped.
func (a *Agent) Done() <-chan struct{} { return a.done }

// Err returns why the agent stopped on its own, after Done is closed.
func (a *Agent) Err() error { return a.err }

// Port returns the port of the agent's HTTPS endpoint.
func (a *Agent) Port() int { return a.server.Port() }

// facts is what the heartbeat reports.
func (a *Agent) facts() node.Facts {
	a.mu.Lock()
	problem := a.problem
	a.mu.Unlock()
	return node.Facts{
		Capacity: a.cfg.Capacity, Allocatable: a.cfg.Allocatable, Attributes: a.cfg.Attributes,
		Hostname: a.cfg.Hostname, Address: a.cfg.Address,
		DaemonPort: int32(a.server.Port()), DaemonCABundle: a.caBundle,
		AgentVersion: version.Version, Runtime: a.runtimeVer, Problem: problem,
	}
}

func (a *Agent) setProblem(p string) {
	a.mu.Lock()
	a.problem = p
	a.mu.Unlock()
}

func ptr[T any](v T) *T { return &v }
