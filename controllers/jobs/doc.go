// Package jobs is Meseta's built-in run-to-completion framework (like Chronos
// or Metronome). It is an ordinary framework written with the public SDK
// (package sdk) and uses no private path into the master: it runs inside the
// master (Setup, a master.ControllerSetup) or on its own (`meseta framework
// jobs --kubeconfig F`).
//
// Each namespace with Jobs gets one Framework, named "jobs", so that DRF is
// fair between namespaces; its driver and its sdk.Queue live as long as the
// namespace has Jobs, and the Framework is deleted with the last one.
//
// A Job without a schedule (a run) is reconciled level-based from its tasks,
// when it changes and, gathered, TaskBatch (500 ms) after its tasks change, so
// that a Job of thousands of tasks is planned and its status written at most
// twice a second while they start:
//  1. its tasks are those of the framework labelled with its UID (found
//     through an index of the cache, sdk.IndexOwnedTasks); tasks of an older
//     Job of the same name are killed;
//  2. planRun (pure) counts active, succeeded and failed tasks and decides:
//     Complete once completions indices succeeded; Failed once more tasks
//     failed than backoffLimit, or activeDeadlineSeconds passed since
//     startTime; suspended jobs kill their active tasks; otherwise it launches,
//     at most parallelism at once, the lowest indices that have neither
//     succeeded nor an active task, with the next attempt number, after an
//     exponential backoff for indices whose last task failed;
//  3. the tasks to kill are deleted; the tasks to launch, named
//     "<job>-<index>-<attempt>" (so a restart meets AlreadyExists instead of a
//     duplicate), are handed to the namespace's Queue, which places them on
//     offers and suppresses offers when nothing waits;
//  4. the status (counts, startTime, completionTime, the Complete, Failed and
//     Suspended conditions, observedGeneration) is patched once, with
//     optimistic concurrency.
//
// Tasks that were Dropped (their offers were invalid) or killed on request
// (reason KillRequested or AgentDrained: by suspend, a deadline, a user, a
// drain) are launched again and do not count as failures.
//
// A Job with a schedule (cron syntax in UTC, a descriptor such as "@hourly",
// or "@every 10m") is a parent: at each scheduled time it creates a run, a
// child Job named "<job>-<unix time>", owned by it, with its spec less the
// schedule. A run is due for DefaultStartingWindow after its time (only the
// most recent due time counts, so missed runs are not made up for); with
// concurrencyPolicy Forbid it waits, within that window, for the active run to
// finish; with Replace the active runs are deleted first. Finished runs beyond
// successfulJobsHistoryLimit and failedJobsHistoryLimit are deleted, oldest
// first. When a Job is deleted its tasks are killed (Jobs do not own their
// tasks: the Framework does, so that a deleted framework takes them along).
package jobs
