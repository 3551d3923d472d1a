package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"meseta.dev/meseta/pkg/agent"
	"meseta.dev/meseta/pkg/agent/hostresources"
	"meseta.dev/meseta/pkg/agent/simulate"
	"meseta.dev/meseta/pkg/version"
)

// simulateOptions are the flags of `meseta agent --simulate N`.
type simulateOptions struct {
	// Nodes is how many simulated agents to run; 0 runs the real agent.
	Nodes int
	// Prefix names the nodes <prefix>-00000, <prefix>-00001...
	Prefix string
	// StartDelay is how long a simulated container takes to start.
	StartDelay time.Duration
	// AsNodes makes each node's requests as its agent's user.
	AsNodes bool
}

func (s *simulateOptions) addFlags(fs *pflag.FlagSet) {
	fs.IntVar(&s.Nodes, "simulate", 0, "Run this many simulated agents in this process instead of the real agent: each registers a Node and renews its Lease, "+
		"and its tasks go Staging, Starting, Running and, when their command says so (sleep N, false, sh -c \"exit 3\"), Finished or Failed, with no containers.")
	fs.StringVar(&s.Prefix, "node-name-prefix", "sim", "With --simulate: the nodes are named PREFIX-00000, PREFIX-00001...")
	fs.DurationVar(&s.StartDelay, "simulate-start-delay", 0, "With --simulate: how long a simulated container takes to start.")
	fs.BoolVar(&s.AsNodes, "simulate-as-nodes", true, "With --simulate: each node makes its own requests as its agent would, user meseta:node:NAME in group meseta:nodes, "+
		"so that the master's priority and fairness and node-restriction policy apply to it; the kubeconfig's user must be allowed to impersonate users and groups.")
}

// runSimulatedAgents runs s.Nodes simulated agents with the agent options o
// (kubeconfig, resources, attributes, heartbeat and concurrency) until ctx ends.
func runSimulatedAgents(ctx context.Context, o *agent.Options, s simulateOptions) error {
	cfg, err := simulationConfig(o, s)
	if err != nil {
		return err
	}
	cfg.Logger = klog.FromContext(ctx).WithName("simulate")
	f, err := simulate.NewFleet(cfg)
	if err != nil {
		return err
	}
	go func() {
		select {
		case <-f.Ready():
			cfg.Logger.Info("Simulated agents ready", "nodes", s.Nodes, "prefix", s.Prefix)
		case <-ctx.Done():
		}
	}()
	return f.Run(ctx)
}

// simulationConfig checks the flags that matter to a simulation and builds
// its config; each error names its flag.
func simulationConfig(o *agent.Options, s simulateOptions) (simulate.Config, error) {
	var errs []error
	if o.Kubeconfig == "" {
		errs = append(errs, errors.New("--kubeconfig: required with --simulate"))
	}
	if msgs := validation.IsDNS1123Label(s.Prefix); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--node-name-prefix: %q: %s", s.Prefix, msgs[0]))
	}
	spec := o.Resources
	if spec == "" {
		spec = simulate.DefaultResources
	}
	alloc, err := hostresources.ParseResources(spec)
	if err != nil {
		errs = append(errs, fmt.Errorf("--resources: %w", err))
	}
	attrs, err := hostresources.ParseAttributes(o.Attributes)
	if err != nil {
		errs = append(errs, fmt.Errorf("--attributes: %w", err))
	}
	if s.StartDelay < 0 {
		errs = append(errs, fmt.Errorf("--simulate-start-delay: %v must not be negative", s.StartDelay))
	}
	if len(errs) > 0 {
		return simulate.Config{}, errors.Join(errs...)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return simulate.Config{}, fmt.Errorf("--kubeconfig: %w", err)
	}
	return simulate.Config{
		REST: rc, Nodes: simulate.NodeNames(s.Prefix, s.Nodes), Allocatable: alloc, Attributes: attrs,
		HeartbeatInterval: o.HeartbeatInterval, LeaseDuration: o.LeaseDuration, StatusInterval: o.NodeStatusInterval,
		StartDelay: s.StartDelay, NodeIdentities: s.AsNodes, Concurrency: max(o.Concurrency, simulate.DefaultConcurrency), Version: version.Version,
	}, nil
}
