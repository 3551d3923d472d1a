package tasks

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"

	"meseta.dev/meseta/apis/v1alpha1"
)

// maxWritesPerPass bounds the status writes of one WriteStatus: the three
// rungs of the ladder and a terminal state. A task that needs more is brought
// back by the event of the last write.
const maxWritesPerPass = 4

// PatchStatus writes next as task's status and, when it wrote, leaves in task
// the version the API server returned; it reports whether it wrote (false
// after a conflict: a newer version brings the task back).
type PatchStatus func(ctx context.Context, task *v1alpha1.Task, next v1alpha1.TaskStatus) (bool, error)

// WriteStatus writes the statuses NextStatus gives for task and what observe
// reports of its container, one patch per rung, each from the version the
// previous patch returned, until the status is what the observation calls for.
// Every watcher still sees Staging, Starting and Running, each in its own
// write, but a task whose container is ready climbs them in one pass instead
// of waiting, between rungs, for the watch to bring each write back (under
// load, a round trip of the API server's watch fan-out each). It reports
// whether task's status is now what the last observation called for (false
// after a conflict, or when the pass stopped at maxWritesPerPass); task holds
// the last version written.
func WriteStatus(ctx context.Context, task *v1alpha1.Task, observe func() Observation, now time.Time, patch PatchStatus) (bool, error) {
	for range maxWritesPerPass {
		next := NextStatus(task.Status, observe(), now)
		if equality.Semantic.DeepEqual(next, task.Status) {
			return true, nil
		}
		if written, err := patch(ctx, task, next); err != nil || !written {
			return false, err
		}
	}
	return equality.Semantic.DeepEqual(NextStatus(task.Status, observe(), now), task.Status), nil
}
