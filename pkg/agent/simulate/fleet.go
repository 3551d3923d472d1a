package simulate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/node"
)

// Fleet is a set of simulated agents sharing one client and one watch of
// Nodes; each node watches its own Tasks.
type Fleet struct {
	cfg        Config
	containers *store
	ready      chan struct{}
}

// NewFleet checks cfg and returns a fleet ready to Run.
func NewFleet(cfg Config) (*Fleet, error) {
	cfg = cfg.complete()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("invalid simulation: %w", err)
	}
	return &Fleet{cfg: cfg, containers: newStore(), ready: make(chan struct{})}, nil
}

// Ready is closed once every node is registered and tasks are reconciled.
func (f *Fleet) Ready() <-chan struct{} { return f.ready }

// Containers returns how many simulated containers the fleet holds.
func (f *Fleet) Containers() int { return f.containers.len() }

// Run runs the fleet until ctx ends. In order, it:
//
//  1. starts each node's watch of its Tasks, and a controller manager whose
//     cache watches Nodes, with the task controller of every simulated node,
//     and waits until every watch has listed;
//  2. registers every node (Node, status, Lease), RegisterConcurrency at once;
//  3. closes Ready and renews every node's Lease, each at its own phase of the
//     heartbeat interval, until ctx ends.
func (f *Fleet) Run(ctx context.Context) error {
	logger := f.cfg.Logger
	ctx = log.IntoContext(ctx, logger)
	mgr, tasks, err := f.manager()
	if err != nil {
		return err
	}
	leases, err := node.NewClientset(f.cfg.REST)
	if err != nil {
		return err
	}
	mgrCtx, stop := context.WithCancel(ctx)
	defer stop()
	tasks.run(mgrCtx)
	mgrDone := make(chan error, 1)
	go func() { mgrDone <- mgr.Start(mgrCtx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) || tasks.WaitForSync(ctx) != nil {
		stop()
		return errors.Join(errors.New("the simulation stopped before its caches synced"), <-mgrDone)
	}
	beats := f.heartbeats(mgr.GetClient(), leases)
	start := time.Now()
	// A node's registration and beats log at V(1): thousands of nodes would
	// drown everything else. Errors are logged still.
	quiet := log.IntoContext(ctx, logger.V(1))
	if err := f.register(quiet, beats); err != nil {
		stop()
		<-mgrDone
		return err
	}
	logger.Info("Simulated nodes registered", "nodes", len(beats), "took", time.Since(start).Round(time.Millisecond))
	close(f.ready)
	var wg sync.WaitGroup
	for _, hb := range beats {
		wg.Go(func() {
			phase := time.Duration(rand.Int64N(int64(f.cfg.HeartbeatInterval)))
			select {
			case <-ctx.Done():
				return
			case <-time.After(phase):
			}
			_ = hb.Start(asNode(quiet, hb.Node))
		})
	}
	err = <-mgrDone
	stop()
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// manager returns the fleet's controller manager with the task controller,
// and the nodes' watches of their tasks, which feed that controller.
func (f *Fleet) manager() (manager.Manager, *nodeTasks, error) {
	scheme := apiruntime.NewScheme()
	if err := errors.Join(clientgoscheme.AddToScheme(scheme), v1alpha1.AddToScheme(scheme)); err != nil {
		return nil, nil, err
	}
	mgr, err := manager.New(f.cfg.REST, manager.Options{
		Scheme:                 scheme,
		Logger:                 f.cfg.Logger,
		Cache:                  cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create the simulation's manager: %w", err)
	}
	tasks, err := newNodeTasks(f.cfg.REST, scheme, f.cfg.Nodes)
	if err != nil {
		return nil, nil, err
	}
	nodes := make(map[string]bool, len(f.cfg.Nodes))
	for _, n := range f.cfg.Nodes {
		nodes[n] = true
	}
	r := &reconciler{client: mgr.GetClient(), tasks: tasks, nodes: nodes, containers: f.containers,
		startDelay: f.cfg.StartDelay, clock: clock.RealClock{}}
	err = builder.ControllerManagedBy(mgr).
		Named("simulated-task").
		WatchesRawSource(tasks).
		WithOptions(controller.Options{MaxConcurrentReconciles: f.cfg.Concurrency, SkipNameValidation: ptr(true),
			// Thousands of nodes list their tasks at start, each as its own
			// flow of the master's priority and fairness.
			CacheSyncTimeout: taskSyncTimeout}).
		Complete(r)
	if err != nil {
		return nil, nil, err
	}
	// The heartbeats read Nodes from the cache: start its informer with the others.
	if _, err := mgr.GetCache().GetInformer(context.Background(), &v1alpha1.Node{}); err != nil {
		return nil, nil, err
	}
	return mgr, tasks, nil
}

// taskSyncTimeout is how long the task controller waits for every node's
// watch to list its tasks.
const taskSyncTimeout = 10 * time.Minute

// heartbeats returns one node.Heartbeat per simulated node, reading Nodes
// through the cache and writing through the shared client.
func (f *Fleet) heartbeats(c client.Client, leases kubernetes.Interface) []*node.Heartbeat {
	beats := make([]*node.Heartbeat, len(f.cfg.Nodes))
	for i, name := range f.cfg.Nodes {
		facts := node.Facts{
			Capacity: f.cfg.Allocatable, Allocatable: f.cfg.Allocatable, Attributes: f.cfg.Attributes,
			Hostname: name, Address: "127.0.0.1", AgentVersion: f.cfg.Version, Runtime: RuntimeName,
		}
		beats[i] = &node.Heartbeat{
			Client: c, Leases: leases, Node: name, LeaseNamespace: LeaseNamespace,
			Facts:    func() node.Facts { return facts },
			Interval: f.cfg.HeartbeatInterval, LeaseDuration: f.cfg.LeaseDuration, StatusInterval: f.cfg.StatusInterval,
		}
	}
	return beats
}

// register registers every node, RegisterConcurrency at once. It stops at
// the first failure, which is said once, not once per node.
func (f *Fleet) register(ctx context.Context, beats []*node.Heartbeat) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, f.cfg.RegisterConcurrency)
	var wg sync.WaitGroup
	for _, hb := range beats {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := hb.Register(asNode(ctx, hb.Node)); err != nil && ctx.Err() == nil {
				cancel(f.registrationError(hb.Node, err))
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// registrationError says why node could not register.
func (f *Fleet) registrationError(node string, err error) error {
	if f.cfg.NodeIdentities && apierrors.IsForbidden(err) && strings.Contains(err.Error(), "impersonate") {
		return fmt.Errorf("node %s: the simulated nodes speak as their agents, by impersonation, and the fleet's credentials must be allowed to impersonate "+
			"users and groups (or turn NodeIdentities off): %w", node, err)
	}
	return fmt.Errorf("node %s: %w", node, err)
}

// LeaseNamespace holds the simulated nodes' Leases, as the real agents'.
const LeaseNamespace = "meseta-system"

func ptr[T any](v T) *T { return &v }
