// Package frameworklifecycle is the master's framework lifecycle controller:
// it decides from a framework's heartbeat whether the framework is active,
// tears it down when it stayed away for longer than its failoverTimeout, and
// removes a deleted framework's tasks before the framework itself.
//
// A framework heartbeats with a coordination.k8s.io/v1 Lease named like the
// Framework, in its namespace (a contract: any client, even kubectl in a shell
// loop, can keep it). The Lease is fresh while renewTime plus
// leaseDurationSeconds lies in the future; no other field matters. For each
// Framework the controller, in order:
//
//  1. adds the meseta.dev/framework finalizer;
//  2. assesses the Lease (AssessLease): Active while it is fresh, Inactive
//     while it is missing or expired; an inactive framework gets no offers
//     (the offer controller reads status.phase, and rescinds those it has).
//     The cache's copy of the Lease can lag behind renewals under load, so
//     an active framework goes inactive, and any framework is torn down,
//     only on the Lease as the API server has it;
//  3. tears the framework down once it has been inactive for longer than
//     spec.failoverTimeout (TearDownAt): phase TornDown, for good, and its
//     non-terminal tasks are deleted, which has their agents kill them;
//  4. for a framework being deleted, deletes all its tasks and removes the
//     finalizer once none is left;
//  5. writes status.phase (TornDown, Inactive, Suppressed or Active),
//     status.role, status.tasks, status.observedGeneration and the Active and
//     TornDown conditions with server-side apply, leaving the fields of the
//     offer controller alone, and requeues for the next deadline.
//
// A framework's tasks are found through an index of the task informer
// (sdk.IndexFrameworkTasks), and their changes are gathered for TaskBatch
// (500 ms) before the framework is looked at again: a framework launching
// thousands of tasks is reconciled about twice a second, not once per task
// update.
//
// Deleting the Lease does not delete the framework: it only makes it inactive.
// A torn-down framework stays torn down; delete and recreate the Framework to
// use its name again.
//
//	err := frameworklifecycle.Setup(mgr, frameworklifecycle.Options{})
package frameworklifecycle
