package nodelifecycle

import (
	"math"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Bounds of a heartbeat pace.
const (
	// BaseHeartbeatInterval is the agents' default --heartbeat-interval, the
	// pace of a cluster within its heartbeat budget.
	BaseHeartbeatInterval = 15 * time.Second
	// MaxPaceStretch is how many times longer than BaseHeartbeatInterval the
	// master asks agents to wait at most, and so how far a node's timeout
	// stretches: a cluster past ten times the budget's nodes (15,000 at 100 a
	// second) renews faster than the budget rather than detect failures later.
	MaxPaceStretch = 10
	// paceStep rounds a stretched interval up, so that the published pace
	// changes once every few hundred nodes, not with every node.
	paceStep = 5 * time.Second
)

// Pace is how often the master asks agents to renew their Leases, and how
// long it then waits for a renewal.
type Pace struct {
	// Interval is the shortest time between renewals; zero when the agents
	// keep their own pace (the cluster is within its budget).
	Interval time.Duration
	// NodeTimeout is the node timeout of agents that renew every Interval.
	NodeTimeout time.Duration
}

// PaceFor returns the pace of a cluster of nodes whose renewals together stay
// within maxPerSecond (none when zero): BaseHeartbeatInterval stretched to
// nodes/maxPerSecond seconds, rounded up to 5s and at most MaxPaceStretch
// times longer, with the node timeout stretched as much (see
// stretchedTimeout). A cluster within its budget gets no Interval: each agent
// keeps its own pace.
func PaceFor(nodes int, maxPerSecond float64, nodeTimeout time.Duration) Pace {
	if maxPerSecond <= 0 || nodes <= 0 {
		return Pace{NodeTimeout: nodeTimeout}
	}
	needed := time.Duration(math.Ceil(float64(nodes) / maxPerSecond * float64(time.Second)))
	if needed <= BaseHeartbeatInterval {
		return Pace{NodeTimeout: nodeTimeout}
	}
	interval := min((needed+paceStep-1)/paceStep*paceStep, MaxPaceStretch*BaseHeartbeatInterval)
	return Pace{Interval: interval, NodeTimeout: stretchedTimeout(interval, nodeTimeout)}
}

// stretchedTimeout is the node timeout of agents that renew every interval:
// as many intervals as nodeTimeout holds BaseHeartbeatIntervals (five with
// the defaults, Mesos' missed pings), and never fewer than three.
func stretchedTimeout(interval, nodeTimeout time.Duration) time.Duration {
	beats := max(3, float64(nodeTimeout)/float64(BaseHeartbeatInterval))
	return time.Duration(beats * float64(interval)).Round(time.Second)
}

// NodeTimeoutOf returns how long after the last renewal of lease its node
// becomes unreachable: the node timeout the agent adopted with a stretched
// pace (NodeTimeoutAnnotation), never less than nodeTimeout and never more
// than that of the slowest pace (MaxPaceStretch); nodeTimeout for a Lease
// without one, or one that does not parse.
func NodeTimeoutOf(lease *coordinationv1.Lease, nodeTimeout time.Duration) time.Duration {
	if lease == nil {
		return nodeTimeout
	}
	v, ok := lease.Annotations[v1alpha1.NodeTimeoutAnnotation]
	if !ok {
		return nodeTimeout
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= nodeTimeout {
		return nodeTimeout
	}
	return min(d, stretchedTimeout(MaxPaceStretch*BaseHeartbeatInterval, nodeTimeout))
}
