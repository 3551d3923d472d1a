// Package binding binds tasks to nodes: it accepts the offers a Task names
// (spec.offers) and sets the Task's spec.nodeName, or drops the task with a
// reason; and it admits tasks that an operator placed on a node directly.
//
// The decision is pure (Decide): a task is bound when its offers exist, are
// outstanding (or were accepted for it already), belong to its framework and
// namespace and lie on one node, and the offers of the tasks that share them
// hold all their resources, ports included, earlier tasks first. A task draws
// on the offers it names and on those that tasks bound with it link to them,
// never on an offer that only a dropped task named. Otherwise the task ends
// Dropped with reason InvalidOffers (Error with reason TaskInvalid when it is
// malformed) and a sentence that says what was wrong.
//
// Tasks that name the same offers are decided together. A framework creates
// them one by one, so the binder waits until no new task of the group
// appeared for BatchWindow (25ms), or, when the tasks carry
// v1alpha1.LaunchTasksAnnotation, until all of them are there (at most
// MaxBatchWait, a minute, after the last of them appeared). A task that
// arrives after its offers were accepted for others is dropped, as in Mesos,
// at once: tasks whose offer is closed do not wait for the rest of their
// launch.
//
// Applying a decision is crash-safe and settles races by optimistic
// concurrency:
//  1. hold the tasks (no other reconcile of this process decides about them)
//     and claim the outstanding offers in the ledger, so that no other
//     operation of this master (a second accept, a decline, a rescind, an
//     expiry) can use them meanwhile;
//  2. write each Offer's status Accepted, with status.tasks naming the tasks,
//     under a resourceVersion precondition: if a framework declined or deleted
//     the offer in between, the write fails and the tasks are dropped;
//  3. move the offers' resources to the tasks in the ledger: what the tasks do
//     not use returns to the pool at once;
//  4. set each Task's spec.nodeName under a resourceVersion precondition; a
//     task that another writer ended meanwhile is not bound, and what it held
//     returns to the pool. Drops are written under the same precondition, so a
//     task is bound or dropped, never both.
//
// A master that dies after step 2 finds, on restart, Accepted offers naming
// tasks without a node: it counts those tasks on the offers' node when it
// rebuilds its ledger, and Decide treats offers accepted for a task as valid
// for it, so the next reconcile finishes step 4. Nothing is launched twice and
// nothing is launched half: the agent runs a task only once spec.nodeName is
// set, and that happens only after every offer is Accepted for it.
//
// An operator's task (spec.nodeName set, no offers) is admitted when it fits
// in what the ledger shows free on its node, and refused (Error,
// Overcommitted) when it does not, but only once the API confirms what the
// ledger counts there: the ledger learns of a rescinded offer or an ended
// task a moment after the API, so while it counts an offer or task the API
// says is over, or an offer an acceptance is deciding, the task is judged
// again shortly (for at most 30s after its creation).
package binding
