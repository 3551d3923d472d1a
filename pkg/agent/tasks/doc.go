// Package tasks runs the Tasks bound to an agent's node in OCI containers and
// reports their status.
//
// It has a pure core and two moving parts:
//
//   - NextStatus decides a task's status from its status in the API and an
//     Observation of its container (phase, exit status, kill reason, health): it
//     never leaves a terminal state, and it climbs Staging, Starting, Running
//     one rung per update, so every watcher sees a container Running (with its
//     ID, start time and sandbox) before its terminal state. Fit decides whether
//     a task fits beside the node's running tasks (else Error, Overcommitted).
//   - Supervisor holds what the agent knows of each task's container, in memory,
//     and runs the long operations in goroutines: prepare (sandbox, image pull,
//     root file system, OCI bundle) and run; wait for exits; kill (SIGTERM, then
//     SIGKILL after the task's killGracePeriod); health checks; removal of
//     containers no task wants. Each change notifies the controller. At start,
//     Adopt re-adopts the containers an earlier agent left in the runtime, by
//     the annotations their specs carry, so nothing runs twice.
//   - Reconciler is the level-based controller: it reads a task from the
//     node's cache, makes sure the task carries the meseta.dev/task finalizer
//     before launching anything (the master adds it when it binds a task on
//     offers; the agent adds it only to a task that lacks it, such as one an
//     operator placed), asks the supervisor to launch or kill, patches the
//     status once (with optimistic locking, so a stale copy never overwrites
//     a newer state), and once the final status is written removes the
//     container and then the finalizer. A copy at a version its own write
//     replaced (Superseded) is left alone: the event of that write brings the
//     task back, and a write from the stale copy could only conflict.
//
// Each task has a directory under the agent's work dir, named after its
// container ID (ContainerID): task.json (its identity), sandbox/ (mounted at
// /mnt/sandbox, with the stdout and stderr files), bundle/, and the root file
// system (rootfs/, upper/, work/). SweepSandboxes removes the directories of
// tasks that are gone or finished long enough ago.
//
// Wiring, as the agent does it:
//
//	n := tasks.NewNotifier(ctx.Done())
//	sup := tasks.NewSupervisor(tasks.SupervisorConfig{Node: node, Dir: dir, Runtime: rt, Images: store,
//		Allocatable: allocatable}, n.Notify)
//	_, err := sup.Adopt(ctx)
//	r := &tasks.Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Node: node, Supervisor: sup}
//	err = r.SetupWithManager(mgr, n, 16)
package tasks
