package crdstorage

import (
	"context"
	"maps"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/storage"

	"meseta.dev/meseta/apis/v1alpha1"
)

// StagedWhenBound are the custom resources whose binding writes their
// Staging state: a Task whose spec.nodeName is set by a write of the task
// itself, and that has no state yet, is stored with status.state Staging in
// that same write. Binding is the launch: as Mesos' master marks a task
// TASK_STAGING when it sends it to its agent, the master's bind puts the
// task in Staging, and the agent reports Starting and Running. Without this
// the bind and the Staging report were two writes of every task, one of the
// five a launch costs.
var StagedWhenBound = map[schema.GroupResource]bool{
	{Group: "meseta.dev", Resource: "tasks"}: true,
}

var (
	nodeNamePath = []string{"spec", "nodeName"}
	statePath    = []string{"status", "state"}
	messagePath  = []string{"status", "message"}
)

// stagedWhenBound is Task storage whose updates that bind a task also stage
// it (see StagedWhenBound).
type stagedWhenBound struct {
	storage.Interface
}

// GuaranteedUpdate implements storage.Interface: it stages the object that
// tryUpdate returns when the write binds it.
func (s stagedWhenBound) GuaranteedUpdate(ctx context.Context, key string, dest runtime.Object, ignoreNotFound bool,
	preconditions *storage.Preconditions, tryUpdate storage.UpdateFunc, cachedExistingObject runtime.Object) error {
	staging := func(current runtime.Object, res storage.ResponseMeta) (runtime.Object, *uint64, error) {
		wasBound := stringAt(current, nodeNamePath) != ""
		next, ttl, err := tryUpdate(current, res)
		if err == nil && !wasBound {
			stageIfBound(next)
		}
		return next, ttl, err
	}
	return s.Interface.GuaranteedUpdate(ctx, key, dest, ignoreNotFound, preconditions, staging, cachedExistingObject)
}

// stageIfBound sets the Staging state of a task, unstructured, that is bound
// to a node and has no state.
func stageIfBound(obj runtime.Object) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || stringAt(u, nodeNamePath) == "" || stringAt(u, statePath) != "" {
		return
	}
	// The state is set in a status of the task's own: an update of the task
	// keeps the status of the object it replaces, the very map the update's
	// old object holds (and admission compares the two).
	status, isMap := u.Object["status"].(map[string]any)
	if !isMap && u.Object["status"] != nil {
		return // not a task the strategy passed
	}
	staged := make(map[string]any, len(status)+2)
	maps.Copy(staged, status)
	staged[statePath[1]] = string(v1alpha1.TaskStaging)
	staged[messagePath[1]] = v1alpha1.StagingMessage
	u.Object["status"] = staged
}
