package nodelifecycle

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/apis/v1alpha1"
)

// task returns a task bound to node-a on an offer, in state s; deleting sets
// its deletion timestamp and the agent's finalizer.
func task(name string, s v1alpha1.TaskState, deleting bool) v1alpha1.Task {
	t := v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a", UID: types.UID("uid-" + name)},
		Spec:       v1alpha1.TaskSpec{Framework: "fw", NodeName: "node-a", Offers: []string{"fw-node-a-1"}},
		Status:     v1alpha1.TaskStatus{State: s},
	}
	if deleting {
		now := metav1.NewTime(t0)
		t.DeletionTimestamp = &now
		t.Finalizers = []string{v1alpha1.TaskFinalizer}
	}
	return t
}

// placed returns a task an operator placed on node-a (no offers), admitted
// (a True Bound condition) or not.
func placed(admitted bool) v1alpha1.Task {
	t := task("placed", "", false)
	t.Spec.Offers = nil
	if admitted {
		t.Status.Conditions = []metav1.Condition{{Type: v1alpha1.TaskBoundCondition, Status: metav1.ConditionTrue, Reason: "Admitted"}}
	}
	return t
}

// evicted returns t marked Evicted, as the node lifecycle marks a task before
// it deletes it to drain its node.
func evicted(t v1alpha1.Task) v1alpha1.Task {
	c := EvictedCondition(t.Spec.NodeName)
	c.LastTransitionTime = metav1.NewTime(t0)
	t.Status.Conditions = append(t.Status.Conditions, c)
	return t
}

func TestTaskActionFor(t *testing.T) {
	type want struct {
		ok       bool
		state    v1alpha1.TaskState
		reason   v1alpha1.TaskReason
		del      bool
		evict    bool
		unevict  bool
		finalize bool
	}
	tests := []struct {
		name     string
		task     v1alpha1.Task
		liveness Liveness
		draining bool
		want     want
	}{
		{name: "alive: the agent speaks", task: task("t", v1alpha1.TaskRunning, false), liveness: Alive},
		{name: "alive unreachable task: the agent reconciles it", task: task("t", v1alpha1.TaskUnreachable, false), liveness: Alive},
		{name: "unreachable: running turns unreachable", task: task("t", v1alpha1.TaskRunning, false), liveness: Unreachable,
			want: want{ok: true, state: v1alpha1.TaskUnreachable, reason: v1alpha1.ReasonAgentDisconnected}},
		{name: "unreachable: staging without a status turns unreachable", task: task("t", "", false), liveness: Unreachable,
			want: want{ok: true, state: v1alpha1.TaskUnreachable, reason: v1alpha1.ReasonAgentDisconnected}},
		{name: "gone: a task an operator placed, not yet admitted, is left to admission", task: placed(false), liveness: Gone},
		{name: "gone: a task an operator placed and the master admitted turns gone", task: placed(true), liveness: Gone,
			want: want{ok: true, state: v1alpha1.TaskGone, reason: v1alpha1.ReasonAgentRemoved}},
		{name: "unreachable: a deleted task turns unreachable too", task: task("t", v1alpha1.TaskKilling, true), liveness: Unreachable,
			want: want{ok: true, state: v1alpha1.TaskUnreachable, reason: v1alpha1.ReasonAgentDisconnected}},
		{name: "unreachable: once", task: task("t", v1alpha1.TaskUnreachable, false), liveness: Unreachable},
		{name: "unreachable: terminal is final", task: task("t", v1alpha1.TaskFinished, false), liveness: Unreachable},
		{name: "gone: running turns gone", task: task("t", v1alpha1.TaskRunning, false), liveness: Gone,
			want: want{ok: true, state: v1alpha1.TaskGone, reason: v1alpha1.ReasonAgentRemoved}},
		{name: "gone: unreachable turns gone", task: task("t", v1alpha1.TaskUnreachable, false), liveness: Gone,
			want: want{ok: true, state: v1alpha1.TaskGone, reason: v1alpha1.ReasonAgentRemoved}},
		{name: "gone: a deleted task turns gone and is released", task: task("t", v1alpha1.TaskUnreachable, true), liveness: Gone,
			want: want{ok: true, state: v1alpha1.TaskGone, reason: v1alpha1.ReasonAgentRemoved, finalize: true}},
		{name: "gone: a deleted terminal task is released", task: task("t", v1alpha1.TaskKilled, true), liveness: Gone,
			want: want{ok: true, finalize: true}},
		{name: "gone: terminal is final", task: task("t", v1alpha1.TaskFailed, false), liveness: Gone},
		{name: "gone: nothing to drain", task: task("t", v1alpha1.TaskRunning, false), liveness: Gone, draining: true,
			want: want{ok: true, state: v1alpha1.TaskGone, reason: v1alpha1.ReasonAgentRemoved}},
		{name: "draining: running is evicted and deleted", task: task("t", v1alpha1.TaskRunning, false), liveness: Alive, draining: true,
			want: want{ok: true, evict: true, del: true}},
		{name: "draining: staging is evicted and deleted", task: task("t", v1alpha1.TaskStaging, false), liveness: Alive, draining: true,
			want: want{ok: true, evict: true, del: true}},
		{name: "draining: evicted before, deleted now", task: evicted(task("t", v1alpha1.TaskRunning, false)), liveness: Alive, draining: true,
			want: want{ok: true, del: true}},
		{name: "draining: deleted once", task: task("t", v1alpha1.TaskKilling, true), liveness: Alive, draining: true},
		{name: "draining: evicted and deleted once", task: evicted(task("t", v1alpha1.TaskKilling, true)), liveness: Alive, draining: true},
		{name: "draining: terminal tasks stay as records", task: task("t", v1alpha1.TaskFinished, false), liveness: Alive, draining: true},
		{name: "draining an unreachable node: marked, evicted and deleted", task: task("t", v1alpha1.TaskRunning, false), liveness: Unreachable, draining: true,
			want: want{ok: true, state: v1alpha1.TaskUnreachable, reason: v1alpha1.ReasonAgentDisconnected, evict: true, del: true}},
		{name: "drain ended before the delete: the eviction is taken back", task: evicted(task("t", v1alpha1.TaskRunning, false)), liveness: Alive,
			want: want{ok: true, unevict: true}},
		{name: "drain ended after the delete: the eviction stands", task: evicted(task("t", v1alpha1.TaskKilling, true)), liveness: Alive},
		{name: "drain ended, the task ended: terminal is final", task: evicted(task("t", v1alpha1.TaskKilled, false)), liveness: Alive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			a, ok := TaskActionFor(&tt.task, tt.liveness, tt.draining, "message")
			g.Expect(ok).To(Equal(tt.want.ok))
			if !ok {
				return
			}
			g.Expect(a.Task.Name).To(Equal(tt.task.Name))
			g.Expect(a.UID).To(Equal(tt.task.UID))
			g.Expect(a.State).To(Equal(tt.want.state))
			g.Expect(a.Reason).To(Equal(tt.want.reason))
			g.Expect(a.Delete).To(Equal(tt.want.del))
			g.Expect(a.Unevict).To(Equal(tt.want.unevict))
			if tt.want.evict {
				g.Expect(a.Evict).NotTo(BeNil())
				g.Expect(a.Evict.Type).To(Equal(v1alpha1.TaskEvictedCondition))
				g.Expect(a.Evict.Status).To(Equal(metav1.ConditionTrue))
				g.Expect(a.Evict.Reason).To(Equal(string(v1alpha1.ReasonAgentDrained)))
				g.Expect(a.Evict.Message).To(ContainSubstring("node-a"))
			} else {
				g.Expect(a.Evict).To(BeNil())
			}
			g.Expect(a.ReleaseFinalizer).To(Equal(tt.want.finalize))
			if a.State != "" {
				g.Expect(a.Message).To(Equal("message"))
			}
		})
	}
}
