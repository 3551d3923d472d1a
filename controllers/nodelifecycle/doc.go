// Package nodelifecycle is the master's node lifecycle controller: it turns an
// agent's heartbeats, an operator's cordon and drain, and the tasks bound to a
// node into the node's phase and conditions, and speaks for the agent's tasks
// when the agent cannot.
//
// An agent heartbeats by renewing the coordination.k8s.io/v1 Lease
// meseta-system/<node>. For each Node the controller, in order:
//
//  1. computes the node's liveness from the Lease (Assess): Alive until
//     NodeTimeout after the last renewal, then Unreachable, then Gone once
//     GoneTimeout more has passed;
//  2. decides what becomes of the node's tasks (TaskActionFor): on an
//     unreachable node its non-terminal tasks turn Unreachable (reason
//     AgentDisconnected); on a gone node Gone (reason AgentRemoved), and the
//     agent's finalizer of those being deleted is removed, since no agent will;
//     on a draining node (spec.drain) they are marked Evicted (a condition
//     whose reason is AgentDrained) and deleted, which asks their agent to
//     kill them, and it reports them Killed with reason AgentDrained;
//  3. derives the node's Ready and Drained conditions and its phase
//     (ReadyCondition, DrainedCondition, Phase);
//  4. writes the tasks, then the node's status once, and requeues itself for
//     the next deadline.
//
// A node's timeout is the master's NodeTimeout, or the longer one its agent
// adopted with a slower pace (NodeTimeoutOf). The PaceReconciler sets that
// pace: it keeps the ConfigMap meseta-system/meseta-node-heartbeat at the
// interval that holds all agents' renewals within MaxHeartbeatsPerSecond
// (PaceFor; 5,000 nodes at 100 a second renew every 50s and are waited for
// 250s), as Nomad stretches its heartbeat TTL with the number of clients.
//
// Steps 1 to 3 are pure (Decide) and table-tested; the Reconciler only reads
// the world and applies the decision. A returning node's tasks are left to its
// agent, which reports what still runs.
//
//	err := nodelifecycle.Setup(mgr, nodelifecycle.Options{NodeTimeout: 75 * time.Second})
package nodelifecycle
