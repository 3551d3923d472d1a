package allocator

// Reason says why a framework got no offer on a node.
type Reason uint8

// Reasons, from the node's state, the framework's, the pair's, and the order.
const (
	// ReasonNone is no reason: the zero value.
	ReasonNone Reason = iota
	// ReasonNodeNotReady: the node's agent does not heartbeat.
	ReasonNodeNotReady
	// ReasonNodeUnschedulable: the node is cordoned, draining or in maintenance.
	ReasonNodeUnschedulable
	// ReasonBelowMinimum: the node's free resources are below the minimum offer
	// (the snapshot's, or the framework's own).
	ReasonBelowMinimum
	// ReasonInactive: the framework's Lease is missing or expired.
	ReasonInactive
	// ReasonSuppressed: the framework asked for no offers.
	ReasonSuppressed
	// ReasonDeclined: the framework declined the node and its filter has not
	// ended.
	ReasonDeclined
	// ReasonLimitReached: the role's quota limit, or an ancestor's, leaves less
	// than the minimum offer.
	ReasonLimitReached
	// ReasonNoGPUCapability: the node has GPUs, which are kept for frameworks with
	// the GPUResources capability.
	ReasonNoGPUCapability
	// ReasonOfferedToOthers: the node's resources went to frameworks ahead in
	// fair-share order.
	ReasonOfferedToOthers

	numReasons
)

var reasonNames = [numReasons]string{
	"", "NodeNotReady", "NodeUnschedulable", "BelowMinimum", "FrameworkInactive", "FrameworkSuppressed",
	"Declined", "LimitReached", "NoGPUCapability", "OfferedToOthers",
}

// String returns the reason as a CamelCase word for condition reasons and
// metrics, for example "Declined".
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "Unknown"
}

// pairReasons are the reasons recorded per (framework, node) pair; their index
// in fwState.skips.
const (
	pairDeclined = iota
	pairBelowMinimum
	pairLimitReached
	pairNoGPU
	numPairReasons
)

var pairReasonOf = [numPairReasons]Reason{ReasonDeclined, ReasonBelowMinimum, ReasonLimitReached, ReasonNoGPUCapability}
