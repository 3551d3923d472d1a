package nodelifecycle

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"meseta.dev/meseta/apis/v1alpha1"
)

// TaskAction is what the node lifecycle does to one task bound to the node.
// Its steps are applied in the order of the fields.
type TaskAction struct {
	// Task is the task's key and UID is the object it was decided for.
	Task types.NamespacedName
	UID  types.UID
	// State, when not empty, is written as the task's state, with Reason and
	// Message; the master speaks for an agent that cannot.
	State   v1alpha1.TaskState
	Reason  v1alpha1.TaskReason
	Message string
	// Evict, when not nil, is the Evicted condition written on the task
	// (with State, in the same patch) before it is deleted, so that its agent
	// reports it killed with the condition's reason (AgentDrained) rather
	// than KillRequested.
	Evict *metav1.Condition
	// Delete deletes the task, which asks its agent to kill it.
	Delete bool
	// Unevict removes the Evicted condition of a task that is not being
	// deleted on a node that is no longer drained: a drain that ended between
	// the condition and the delete.
	Unevict bool
	// ReleaseFinalizer removes the agent's finalizer (meseta.dev/task) from a
	// task being deleted whose agent is gone and so will never remove it.
	ReleaseFinalizer bool
}

// TaskActionFor decides what becomes of task t, bound to a node of liveness l
// that is being drained or not; false means nothing. Terminal states are
// final: such a task is at most released.
//
//   - Unreachable: a non-terminal task turns Unreachable (AgentDisconnected),
//     once.
//   - Gone: a non-terminal task turns Gone (AgentRemoved); a task being
//     deleted loses the agent's finalizer once it is terminal.
//   - Draining (any liveness but Gone): a non-terminal task not yet being
//     deleted is marked Evicted (reason AgentDrained) and deleted.
//   - Not draining: a task marked Evicted but not deleted is unmarked.
//
// A task an operator placed on the node (spec.nodeName without offers) that
// the master has not admitted yet is left to admission, which judges it
// (Error for a node that does not exist).
func TaskActionFor(t *v1alpha1.Task, l Liveness, draining bool, message string) (TaskAction, bool) {
	a := TaskAction{Task: types.NamespacedName{Namespace: t.Namespace, Name: t.Name}, UID: t.UID}
	if awaitingAdmission(t) {
		return a, false
	}
	terminal := t.IsTerminal()
	deleting := !t.DeletionTimestamp.IsZero()
	switch l {
	case Gone:
		if !terminal {
			a.State, a.Reason, a.Message = v1alpha1.TaskGone, v1alpha1.ReasonAgentRemoved, message
		}
		a.ReleaseFinalizer = deleting && controllerutil.ContainsFinalizer(t, v1alpha1.TaskFinalizer)
		return a, a.State != "" || a.ReleaseFinalizer
	case Unreachable:
		if !terminal && t.Status.State != v1alpha1.TaskUnreachable {
			a.State, a.Reason, a.Message = v1alpha1.TaskUnreachable, v1alpha1.ReasonAgentDisconnected, message
		}
	}
	a.Delete = draining && !terminal && !deleting
	evicted := meta.IsStatusConditionTrue(t.Status.Conditions, v1alpha1.TaskEvictedCondition)
	if a.Delete && !evicted {
		c := EvictedCondition(t.Spec.NodeName)
		a.Evict = &c
	}
	a.Unevict = !draining && !terminal && !deleting && evicted
	return a, a.State != "" || a.Delete || a.Unevict
}

// EvictedCondition is the Evicted condition of a task killed to drain node:
// its reason is the task reason its agent reports, AgentDrained.
func EvictedCondition(node string) metav1.Condition {
	return metav1.Condition{
		Type:    v1alpha1.TaskEvictedCondition,
		Status:  metav1.ConditionTrue,
		Reason:  string(v1alpha1.ReasonAgentDrained),
		Message: fmt.Sprintf("Killed to drain node %s", node),
	}
}

// awaitingAdmission reports whether t was placed on its node by an operator
// and is neither admitted (a True Bound condition) nor started.
func awaitingAdmission(t *v1alpha1.Task) bool {
	return len(t.Spec.Offers) == 0 && t.Status.State == "" && t.DeletionTimestamp.IsZero() &&
		!meta.IsStatusConditionTrue(t.Status.Conditions, v1alpha1.TaskBoundCondition)
}

// remaining counts the tasks that have not reached a terminal state.
func remaining(tasks []v1alpha1.Task) int {
	n := 0
	for i := range tasks {
		if !tasks[i].IsTerminal() {
			n++
		}
	}
	return n
}
