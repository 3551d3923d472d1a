package apps

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"k8s.io/utils/ptr"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/sdk"
)

// Labels and annotations the apps framework puts on the tasks it launches.
const (
	// LabelAppUID is the UID of the App a task belongs to.
	LabelAppUID = "meseta.dev/app-uid"
	// LabelVersion is the version (a hash of spec.template) a task runs.
	LabelVersion = "meseta.dev/app-version"
	// LabelSeq is the task's sequence number within its App: each task the App
	// launches gets the next one, so names are deterministic.
	LabelSeq = "meseta.dev/app-seq"
	// LabelFailures is how many tasks of the App's version had failed in a row
	// when the task was launched: the backoff streak it inherits.
	LabelFailures = "meseta.dev/app-failures"
	// AnnotationApp is the name of the App a task belongs to (names may be
	// longer than a label value).
	AnnotationApp = "meseta.dev/app"
)

// versionOf returns the version of a template: the first 10 hex digits of
// the SHA-256 of its JSON. Any change of the template changes it.
func versionOf(tmpl *v1alpha1.TaskTemplate) string {
	data, err := json.Marshal(tmpl)
	if err != nil { // a TaskTemplate always marshals
		return "unknown"
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])[:10]
}

// taskRef is what the apps framework reads of one of an App's tasks.
type taskRef struct {
	name     string
	seq      int
	version  string
	failures int32 // LabelFailures
	node     string

	state    v1alpha1.TaskState
	reason   v1alpha1.TaskReason
	message  string
	exitCode *int32
	// healthy: the agent reports the task healthy, or it has no health check.
	healthy  bool
	deleting bool

	startedAt, finishedAt time.Time
}

// terminal reports whether the task ended.
func (t taskRef) terminal() bool { return t.state.IsTerminal() }

// unreachable reports whether the task is on a node that stopped
// heartbeating: it does not count as an instance and is replaced.
func (t taskRef) unreachable() bool { return t.state == v1alpha1.TaskUnreachable }

// counted reports whether the task holds an instance's place and resources:
// it has not ended and its node is reachable (it may be being killed).
func (t taskRef) counted() bool { return !t.terminal() && !t.unreachable() }

// live reports whether the task counts as an instance: counted and not being
// killed.
func (t taskRef) live() bool { return t.counted() && !t.deleting }

// running reports whether the task is Running.
func (t taskRef) running() bool { return t.state == v1alpha1.TaskRunning }

// isHealthy reports whether the task is a healthy instance: live, Running and
// healthy (or without a health check).
func (t taskRef) isHealthy() bool { return t.live() && t.running() && t.healthy }

// staged reports whether the task waits to run: live, not yet Running.
func (t taskRef) staged() bool { return t.live() && !t.running() }

// failure reports whether the task ended in a way that backs the App off:
// any end but a kill the framework, a user or a drain asked for, and a drop
// (its offers were taken back before it ran). A service that exits, even with
// code 0, has failed.
func (t taskRef) failure() bool {
	switch {
	case !t.terminal(), t.state == v1alpha1.TaskDropped:
		return false
	case t.state == v1alpha1.TaskKilled && (t.reason == v1alpha1.ReasonKillRequested || t.reason == v1alpha1.ReasonAgentDrained):
		return false
	}
	return true
}

// streak returns the failure streak the task's end leaves: its inherited
// streak plus one, or one when it ran for at least resetAfter first (a task
// that runs for a while resets the backoff); zero when it is no failure.
func (t taskRef) streak(resetAfter time.Duration) int32 {
	if !t.failure() {
		return 0
	}
	if resetAfter > 0 && !t.startedAt.IsZero() && t.finishedAt.Sub(t.startedAt) >= resetAfter {
		return 1
	}
	return t.failures + 1
}

// refOf reads an App's task; false when it lacks the framework's labels.
func refOf(t *v1alpha1.Task) (taskRef, bool) {
	seq, err := strconv.Atoi(t.Labels[LabelSeq])
	if err != nil || seq < 0 {
		return taskRef{}, false
	}
	failures, _ := strconv.ParseInt(t.Labels[LabelFailures], 10, 32)
	r := taskRef{
		name: t.Name, seq: seq, version: t.Labels[LabelVersion], failures: int32(max(0, failures)),
		node: t.Spec.NodeName, state: t.Status.State, reason: t.Status.Reason, message: t.Status.Message,
		exitCode: t.Status.ExitCode, deleting: t.DeletionTimestamp != nil,
		healthy: t.Spec.HealthCheck == nil || ptr.Deref(t.Status.Healthy, false),
	}
	if t.Status.StartedAt != nil {
		r.startedAt = t.Status.StartedAt.Time
	}
	switch {
	case t.Status.FinishedAt != nil:
		r.finishedAt = t.Status.FinishedAt.Time
	case r.terminal():
		r.finishedAt = t.CreationTimestamp.Time
	}
	return r, true
}

// taskName returns the name of an App's task with sequence number seq:
// "<app>.<seq>", as Marathon names instances. The dot keeps it apart from the
// jobs framework's "<job>-<index>-<attempt>".
func taskName(app string, seq int) string {
	return sdk.TaskName(app + "." + strconv.Itoa(seq))
}

// taskFor returns the task of app to launch for l. It is told its place in
// the environment: MESETA_APP_NAME, MESETA_APP_VERSION and MESETA_TASK_NAME.
func taskFor(app *v1alpha1.App, version string, l launch) v1alpha1.Task {
	name := taskName(app.Name, l.seq)
	t := sdk.NewTask(name, app.Spec.Template)
	t.Labels = map[string]string{
		LabelAppUID: string(app.UID), LabelVersion: version,
		LabelSeq: strconv.Itoa(l.seq), LabelFailures: strconv.Itoa(int(l.failures)),
	}
	t.Annotations = map[string]string{AnnotationApp: app.Name}
	sdk.DefaultEnv(&t, v1alpha1.EnvVar{Name: "MESETA_APP_NAME", Value: app.Name},
		v1alpha1.EnvVar{Name: "MESETA_APP_VERSION", Value: version}, v1alpha1.EnvVar{Name: "MESETA_TASK_NAME", Value: name})
	return t
}
