// Package apps is Meseta's built-in long-running service framework (like
// Marathon). It is an ordinary framework written with the public SDK (package
// sdk) and uses no private path into the master: it runs inside the master
// (controllers.Apps, a master.ControllerSetup; this package does not import
// the master, so it links none of the API server's libraries) or on its own
// (`meseta framework apps --kubeconfig F`).
//
// Each namespace with Apps gets one Framework, named "apps", so that DRF is
// fair between namespaces; its driver and its Queue live as long as the
// namespace has Apps, and the Framework is deleted with the last one.
//
// An App is reconciled level-based from its tasks:
//  1. its tasks are those of the framework annotated with its name and
//     labelled with its UID; tasks of an older App of the same name are
//     killed. Each task carries the version it runs (a hash of
//     spec.template), a sequence number (its name is "<app>.<seq>", so a
//     restart or a stale cache meets AlreadyExists instead of a duplicate)
//     and the failure streak it inherited;
//  2. planApp (pure) decides: launch tasks of the current version until
//     spec.instances are live, never more than instances +
//     floor(instances * maximumOverCapacity / 100) tasks in all; kill the
//     current tasks beyond spec.instances (staged and unhealthy first, then
//     the newest), old tasks that are not healthy, and healthy old tasks
//     (oldest first) while at least ceil(instances * minimumHealthCapacity
//     / 100) healthy instances remain; kill and replace unreachable tasks;
//     delay launches after failures by spec.backoff (initialSeconds *
//     factor^(streak-1), at most maxSeconds; a task that ran for
//     DefaultBackoffReset restarts the streak; a new version starts afresh);
//     delete ended tasks once a newer task carries their streak;
//  3. the tasks to kill are deleted; the tasks to launch are handed to the
//     namespace's scheduler (an sdk.Queue with the App's constraints and the
//     nodes of its tasks), which places them on offers and, when it cannot,
//     says why in words (explain: which resource is short and the largest
//     offer of it, or which constraint cannot be met);
//  4. the status (counts, the deployment of the current version, the last
//     task failure, the Available, Progressing and Placed conditions) is
//     patched once. A deployment is Complete when every instance runs the
//     current version healthy; Failed (Progressing False, DeploymentFailed)
//     while, short of that, an instance of the current version has failed
//     DeploymentFailedAfter times in a row and its relaunch is not healthy
//     yet: the framework keeps relaunching it, and the message names the
//     last failure; Progressing otherwise.
//
// A task counts as healthy when it is Running and the agent reports it
// healthy, or when it is Running and has no health check.
//
// Apps carry the finalizer v1alpha1.AppFinalizer: a deleted App kills its
// tasks and goes only when none is left, so no container outlives it.
package apps
