// Package history checks a recorded history of a Meseta cluster against the
// invariants of ARCHITECTURE.md, as etcd's robustness tests check theirs: the
// fault tests watch every Task, Offer and Node (keeping each event with its
// resourceVersion) and sample the containers each agent's OCI runtime runs;
// Check replays it all and returns every violation it finds.
//
// The invariants, each with the name its violations carry:
//
//   - overcommit: no node is committed past its allocatable resources. A
//     node's commitment is its outstanding offers plus its non-terminal tasks
//     (bound to it, or named by an offer accepted on it and not bound yet),
//     recomputed after every event in resourceVersion order; ports may not be
//     held twice. node-status: what the master writes in a Node's
//     status.allocated plus status.offered never exceeds status.allocatable.
//   - offer-reused, offer-foreign, offer-closed, offer-exceeded, offer-final:
//     an offer is accepted once, for one set of tasks; a task is bound only on
//     offers of its own framework and node that were outstanding (or accepted
//     for it); the tasks bound on a group of offers fit in them; a final phase
//     never changes, and neither does what was offered.
//   - task-node, task-containers, task-twice, task-rerun, task-wrong-node: a
//     task is bound to one node and never moved; it reports one container; the
//     runtimes never run two containers of one task at once, never start a
//     task's container twice, and run it only on the node it is bound to.
//   - terminal-final: a terminal state never changes.
//   - unsettled, stale-container (CheckSettled, at the end): every task is
//     terminal or Running, and no container runs for a task that is terminal
//     or deleted.
//
// Usage:
//
//	h := &history.History{}
//	h.Add(history.Event{Type: history.Added, Task: task, ResourceVersion: 42})
//	h.AddSample(history.Sample{At: time.Now(), Node: "node-a", Containers: cs})
//	for _, v := range history.Check(h) { t.Error(v) }
//	for _, v := range history.CheckSettled(h) { t.Error(v) }
package history
