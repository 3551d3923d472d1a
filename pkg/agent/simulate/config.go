package simulate

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/node"
)

// Defaults of a Config.
const (
	// DefaultResources is what each simulated node can allocate.
	DefaultResources = "cpus:8;mem:32Gi;disk:100Gi;ports:[31000-32000]"
	// DefaultConcurrency is how many tasks the fleet reconciles at once.
	DefaultConcurrency = 64
	// DefaultRegisterConcurrency is how many nodes register at once.
	DefaultRegisterConcurrency = 32
	// RuntimeName is what simulated nodes report as their runtime.
	RuntimeName = "simulated"
)

// Config is what a Fleet needs.
type Config struct {
	// REST reaches the API server. Its QPS and Burst are raised to suit the
	// fleet (QPSPerNode per node, at least 200) unless already higher.
	REST *rest.Config
	// Nodes are the names of the simulated nodes. Required.
	Nodes []string
	// Allocatable is what each node can allocate (also its capacity).
	Allocatable v1alpha1.Resources
	// Attributes are every node's attributes.
	Attributes map[string]string
	// HeartbeatInterval, LeaseDuration and StatusInterval are each node's
	// heartbeat settings (node.Heartbeat); zero means node's defaults.
	HeartbeatInterval, LeaseDuration, StatusInterval time.Duration
	// StartDelay is how long a simulated container takes to start after its
	// task is admitted (its image pull and runc run, say); default 0.
	StartDelay time.Duration
	// Concurrency is how many tasks are reconciled at once; default
	// DefaultConcurrency.
	Concurrency int
	// RegisterConcurrency is how many nodes register at once; default
	// DefaultRegisterConcurrency.
	RegisterConcurrency int
	// Version is the agent version the nodes report.
	Version string
	// NodeIdentities makes each node's own requests (registration, Node
	// status, Lease, its tasks' finalizers and status) as that node's agent
	// would: user meseta:node:<node> in group meseta:nodes, by impersonation,
	// so the master's priority and fairness and its node-restriction policy
	// treat them as a real agent's. REST's identity then needs the impersonate
	// verb on users and groups. The shared watch of Nodes stays REST's own.
	NodeIdentities bool
	// Logger logs; default discards.
	Logger logr.Logger
}

// QPSPerNode is the client rate a Fleet allows each of its nodes. A real
// agent's heartbeat needs far less than one request per second, but a burst
// of launches on a node asks for a few writes per task at once, and a real
// agent's own client allows 100 per second: a fleet that allowed each node
// less would measure its own limiter, not the master.
const QPSPerNode = 5.0

// complete fills in the defaults.
func (c Config) complete() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.RegisterConcurrency <= 0 {
		c.RegisterConcurrency = DefaultRegisterConcurrency
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = node.DefaultInterval
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = node.DefaultLeaseDuration
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = node.DefaultStatusInterval
	}
	if c.Logger.GetSink() == nil {
		c.Logger = logr.Discard()
	}
	rc := rest.CopyConfig(c.REST)
	qps := max(200, QPSPerNode*float32(len(c.Nodes)))
	if rc.QPS < qps {
		rc.QPS = qps
	}
	if rc.Burst < 2*int(qps) {
		rc.Burst = 2 * int(qps)
	}
	if c.NodeIdentities {
		rc = withNodeIdentities(rc)
	}
	c.REST = rc
	return c
}

// validate reports what is wrong with a completed config.
func (c Config) validate() error {
	var errs []error
	if c.REST == nil {
		errs = append(errs, errors.New("REST: required"))
	}
	if len(c.Nodes) == 0 {
		errs = append(errs, errors.New("nodes: at least one node is required"))
	}
	seen := make(map[string]bool, len(c.Nodes))
	for _, n := range c.Nodes {
		if msgs := validation.IsDNS1123Subdomain(n); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("nodes: %q: %s", n, msgs[0]))
		}
		if seen[n] {
			errs = append(errs, fmt.Errorf("nodes: %q appears twice", n))
		}
		seen[n] = true
	}
	if c.StartDelay < 0 {
		errs = append(errs, fmt.Errorf("startDelay: %v must not be negative", c.StartDelay))
	}
	return errors.Join(errs...)
}

// NodeNames returns n node names, prefix-00000 to prefix-<n-1>, zero-padded
// to at least five digits so that they sort.
func NodeNames(prefix string, n int) []string {
	width := max(5, len(fmt.Sprint(n-1)))
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%s-%0*d", prefix, width, i)
	}
	return names
}
