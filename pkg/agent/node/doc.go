// Package node registers an agent's Node and keeps it alive.
//
// Heartbeat creates the Node when it is missing (its spec belongs to
// operators and is never written again), renews the coordination.k8s.io/v1
// Lease meseta-system/<node> that the master's node lifecycle watches, and
// applies, with server-side apply under the field manager "meseta-agent", the
// part of the status the agent owns: capacity, allocatable, attributes,
// hostname, address, the agent endpoint (daemonPort, daemonCABundle),
// agentVersion, runtime, lastHeartbeatTime and the Ready condition. The master
// owns phase, allocated, offered and the other conditions.
//
// DesiredStatus and NeedsUpdate are the pure part: what the status should be,
// and whether it must be written now. The status is written when it changes,
// when Ready is not what the agent says (after the master marked the node
// Unreachable, say), and at least every StatusInterval (5 minutes by
// default; each wait is drawn between half of it and all of it, so that nodes
// that registered together do not all write at once); the Lease every Interval (15s by default, with
// leaseDurationSeconds 40). A beat reads the Node only every StatusInterval
// and after a gap in renewals, so in the steady state it costs one write.
//
// A large cluster renews more slowly: past the master's
// --max-node-heartbeats-per-second, the master publishes a longer interval in
// the ConfigMap meseta-system/meseta-node-heartbeat (v1alpha1
// NodeHeartbeatConfigMap), which a beat reads every StatusInterval (from the
// API server's watch cache) before it renews, and at least every 8 renewals
// (the pace grows in steps while thousands of agents register: the early ones
// slow down to the final pace within minutes). An agent whose own
// Interval is shorter adopts it (Pace): the renewal that does carries the
// stretched node timeout (annotation meseta.dev/node-timeout) and a
// leaseDurationSeconds stretched as much, so the master never waits less than
// the agent renews; its status updates and reads of the pace stretch as much
// too.
//
//	hb := &node.Heartbeat{Client: c, Leases: clientset, Node: "node-a", LeaseNamespace: "meseta-system",
//		Facts: func() node.Facts { return facts }}
//	if err := hb.Register(ctx); err != nil {
//		return err
//	}
//	go hb.Start(ctx)
package node
