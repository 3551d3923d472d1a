package nodelifecycle

import (
	"time"

	"k8s.io/utils/clock"
)

// Defaults of Options.
const (
	// DefaultNodeTimeout is how long a node may miss heartbeats before it is
	// unreachable (the master's --node-timeout).
	DefaultNodeTimeout = 75 * time.Second
	// DefaultGoneTimeout is how long a node may stay unreachable before it is
	// gone (the master's --node-gone-timeout).
	DefaultGoneTimeout = 10 * time.Minute
	// DefaultLeaseNamespace is the namespace of the agents' Leases.
	DefaultLeaseNamespace = "meseta-system"
	// DefaultWorkers is how many nodes are reconciled at once.
	DefaultWorkers = 4
)

// Options configure the node lifecycle controller. The zero value of each field
// means its default.
type Options struct {
	// NodeTimeout is how long after its Lease's last renewal a node is
	// unreachable.
	NodeTimeout time.Duration
	// GoneTimeout is how long after it became unreachable a node is gone.
	GoneTimeout time.Duration
	// LeaseNamespace is the namespace of the agents' Leases, and of
	// NodeHeartbeatConfigMap.
	LeaseNamespace string
	// MaxHeartbeatsPerSecond is the budget of all agents' renewals together
	// (see PaceFor); zero leaves every agent at its own pace.
	MaxHeartbeatsPerSecond float64
	// Workers is how many nodes are reconciled at once.
	Workers int
	// Clock is the time source.
	Clock clock.PassiveClock
}

func (o Options) complete() Options {
	if o.NodeTimeout <= 0 {
		o.NodeTimeout = DefaultNodeTimeout
	}
	if o.GoneTimeout <= 0 {
		o.GoneTimeout = DefaultGoneTimeout
	}
	if o.LeaseNamespace == "" {
		o.LeaseNamespace = DefaultLeaseNamespace
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}
