package v1alpha1

// NodeHeartbeatConfigMap is the ConfigMap, in the agents' Lease namespace
// (meseta-system), where the master says how often agents renew their Leases.
// The master keeps it so that a large cluster's renewals stay within the
// master's --max-node-heartbeats-per-second: every agent reads it when it
// registers and again every node status interval, and renews no more often
// than its data says.
const NodeHeartbeatConfigMap = "meseta-node-heartbeat"

// Keys of NodeHeartbeatConfigMap's data, each a duration such as "50s".
const (
	// NodeHeartbeatIntervalKey is the shortest time between two renewals of
	// an agent's Lease; an agent configured to renew less often keeps its own.
	NodeHeartbeatIntervalKey = "interval"
	// NodeHeartbeatTimeoutKey is how long the master waits for a renewal of an
	// agent that renews at that interval before the node is unreachable: the
	// master's --node-timeout, stretched as the interval is.
	NodeHeartbeatTimeoutKey = "nodeTimeout"
)

// NodeTimeoutAnnotation, on an agent's Lease, is the node timeout (a duration
// such as "250s") of the heartbeat interval the agent renews at, copied from
// NodeHeartbeatConfigMap by the agent with the renewal that adopts it. The
// master waits that long for the next renewal, never less than its
// --node-timeout and never more than ten times it. An agent that renews at its
// own pace writes none.
const NodeTimeoutAnnotation = "meseta.dev/node-timeout"
