// Package sdk is Meseta's framework SDK: it lets a user write a framework (a
// two-level scheduler) as a controller-runtime program, using only the public
// API every other framework uses.
//
// A framework implements Scheduler and hands it to a Driver. The Driver:
//  1. keeps the framework's heartbeat, a coordination.k8s.io/v1 Lease named
//     like the Framework in its namespace (renewed every RenewInterval, held
//     for LeaseDuration); a second process of the same framework waits until
//     the Lease is free, so only one instance schedules at a time, and a clean
//     stop releases it so a restarted process resumes at once;
//  2. registers the Framework object, or adopts the existing one (failover: the
//     Framework, its tasks and their state survive a restart of the process);
//  3. delivers the framework's outstanding Offers to Scheduler.ResourceOffers,
//     in batches, and applies the Decisions it returns: Launch creates Tasks
//     (deterministic names, owned by the Framework, labelled with LabelFramework)
//     naming offers of one node; Decline sets spec.decline with a refuse time;
//  4. delivers every change of a task's status to Scheduler.StatusUpdate, and
//     the status of every task after (re)registration (implicit
//     reconciliation); Reconcile does it again on demand (explicit);
//  5. suppresses and revives offers (Suppress, Revive) and kills tasks (Kill).
//
// Callbacks are never called concurrently with each other, so a Scheduler
// needs no locks for state touched only by them. An offer passed to
// ResourceOffers and neither launched on nor declined stays outstanding and is
// passed again with the next batch. An offer that a live task of the
// framework names is never passed again, even while the cache still shows it
// outstanding: it is accepted, or about to be, for that task.
//
// The helpers beside the Driver are pure functions: Fits and NodeOffers match
// resources against offers and pack several tasks into one node's offers,
// PickPorts chooses host ports from offered ranges, Satisfies checks
// Marathon-style placement constraints (UNIQUE, CLUSTER, GROUP_BY, LIKE,
// UNLIKE, MAX_PER), TaskName makes deterministic task names. For the
// framework's controller, IndexOwnedTasks finds in the cache the tasks launched
// for one of its objects without copying them, and EnqueueByAnnotationAfter
// turns a burst of task changes into one reconcile of their owner. Queue is a
// ready-made Scheduler for frameworks that keep a list of tasks to launch: it
// places them on offers (at most MaxLaunchTasks on a node at once), declines
// the rest, and suppresses offers while it has nothing to launch.
//
// The Driver never creates a task it knows to exist (its cache shows it, or
// it created it): such a task is left out of its launch and of the size the
// launch announces, so the master does not wait for it.
//
// Usage:
//
//	mgr, _ := ctrl.NewManager(cfg, ctrl.Options{Scheme: sdk.Scheme()})
//	d, _ := sdk.Register(mgr, sdk.Framework{Name: "hello", Namespace: "team-a"}, mySched)
//	_ = mgr.Start(ctx)
//
// or, with a manager made for the framework (its namespace, its own Offers
// and Tasks: RunOptions), sdk.Run(ctx, cfg, fw, mySched). See
// examples/oneshot for a complete framework.
package sdk
