package nodelifecycle

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

// node returns node-a, created at t0, whose agent reported Ready.
func node(drain bool) *v1alpha1.Node {
	n := &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a", CreationTimestamp: metav1.NewTime(t0)}}
	n.Status.Phase = v1alpha1.NodeReady
	n.Status.Conditions = []metav1.Condition{{Type: v1alpha1.NodeReadyCondition, Status: metav1.ConditionTrue,
		Reason: v1alpha1.NodeAgentReadyReason, LastTransitionTime: metav1.NewTime(t0)}}
	if drain {
		n.Spec.Unschedulable = true
		n.Spec.Drain = &v1alpha1.NodeDrain{RequestedAt: &metav1.Time{Time: t0}}
	}
	return n
}

// withReady returns n with its Ready condition replaced.
func withReady(n *v1alpha1.Node, status metav1.ConditionStatus, reason string) *v1alpha1.Node {
	n.Status.Conditions[0].Status, n.Status.Conditions[0].Reason = status, reason
	return n
}

func TestDecide(t *testing.T) {
	o := Options{NodeTimeout: 10 * time.Second, GoneTimeout: time.Minute}
	renewed := func(d time.Duration) *coordinationv1.Lease { return lease(ptr(at(d)), nil, t0) }
	tests := []struct {
		name          string
		node          *v1alpha1.Node
		lease         *coordinationv1.Lease
		tasks         []v1alpha1.Task
		now           time.Time
		wantLiveness  Liveness
		wantPhase     v1alpha1.NodePhase
		wantReady     metav1.ConditionStatus
		wantReason    string
		wantDrained   metav1.ConditionStatus // "" means no Drained condition
		wantStates    map[string]v1alpha1.TaskState
		wantDeleted   []string
		wantReleased  []string
		wantRemaining int
		wantRequeue   time.Duration
	}{
		{
			name: "alive and ready", node: node(false), lease: renewed(5 * time.Second),
			tasks: []v1alpha1.Task{task("a", v1alpha1.TaskRunning, false)}, now: at(6 * time.Second),
			wantLiveness: Alive, wantPhase: v1alpha1.NodeReady, wantReady: metav1.ConditionTrue, wantReason: v1alpha1.NodeAgentReadyReason,
			wantRemaining: 1, wantRequeue: 9 * time.Second,
		},
		{
			name: "an agent at a stretched pace is waited for its own node timeout", node: node(false),
			lease: annotated(renewed(5*time.Second), "40s"), now: at(30 * time.Second),
			wantLiveness: Alive, wantPhase: v1alpha1.NodeReady, wantReady: metav1.ConditionTrue, wantReason: v1alpha1.NodeAgentReadyReason,
			wantRequeue: 15 * time.Second,
		},
		{
			name: "an agent at a stretched pace is unreachable past its own node timeout", node: node(false),
			lease: annotated(renewed(5*time.Second), "40s"), now: at(46 * time.Second),
			wantLiveness: Unreachable, wantPhase: v1alpha1.NodeUnreachable,
			wantReady: metav1.ConditionUnknown, wantReason: v1alpha1.NodeAgentUnreachableReason, wantRequeue: 59 * time.Second,
		},
		{
			name: "a node without a lease counts from its creation", node: node(false), now: at(3 * time.Second),
			wantLiveness: Alive, wantPhase: v1alpha1.NodeReady, wantReady: metav1.ConditionTrue, wantReason: v1alpha1.NodeAgentReadyReason,
			wantRequeue: 7 * time.Second,
		},
		{
			name: "unreachable: tasks turn unreachable, terminal ones stay", node: node(false), lease: renewed(5 * time.Second),
			tasks: []v1alpha1.Task{task("a", v1alpha1.TaskRunning, false), task("b", v1alpha1.TaskFinished, false), task("c", v1alpha1.TaskStaging, false)},
			now:   at(15 * time.Second), wantLiveness: Unreachable, wantPhase: v1alpha1.NodeUnreachable,
			wantReady: metav1.ConditionUnknown, wantReason: v1alpha1.NodeAgentUnreachableReason,
			wantStates:    map[string]v1alpha1.TaskState{"a": v1alpha1.TaskUnreachable, "c": v1alpha1.TaskUnreachable},
			wantRemaining: 2, wantRequeue: time.Minute,
		},
		{
			name: "gone: tasks turn gone, deleted ones are released", node: withReady(node(false), metav1.ConditionUnknown, v1alpha1.NodeAgentUnreachableReason),
			lease: renewed(5 * time.Second),
			tasks: []v1alpha1.Task{task("a", v1alpha1.TaskUnreachable, false), task("b", v1alpha1.TaskUnreachable, true), task("c", v1alpha1.TaskKilled, true)},
			now:   at(75 * time.Second), wantLiveness: Gone, wantPhase: v1alpha1.NodeGone,
			wantReady: metav1.ConditionFalse, wantReason: v1alpha1.NodeAgentGoneReason,
			wantStates:   map[string]v1alpha1.TaskState{"a": v1alpha1.TaskGone, "b": v1alpha1.TaskGone},
			wantReleased: []string{"b", "c"},
		},
		{
			name: "back before gone: Ready again, tasks left to the agent", node: withReady(node(false), metav1.ConditionUnknown, v1alpha1.NodeAgentUnreachableReason),
			lease: renewed(30 * time.Second), tasks: []v1alpha1.Task{task("a", v1alpha1.TaskUnreachable, false)}, now: at(31 * time.Second),
			wantLiveness: Alive, wantPhase: v1alpha1.NodeReady, wantReady: metav1.ConditionTrue, wantReason: v1alpha1.NodeAgentReconnectedReason,
			wantRemaining: 1, wantRequeue: 9 * time.Second,
		},
		{
			name: "back after gone: Ready again", node: withReady(node(false), metav1.ConditionFalse, v1alpha1.NodeAgentGoneReason),
			lease: renewed(time.Hour), tasks: []v1alpha1.Task{task("a", v1alpha1.TaskGone, false)}, now: at(time.Hour),
			wantLiveness: Alive, wantPhase: v1alpha1.NodeReady, wantReady: metav1.ConditionTrue, wantReason: v1alpha1.NodeAgentReconnectedReason,
			wantRequeue: 10 * time.Second,
		},
		{
			name: "drain: live tasks are deleted", node: node(true), lease: renewed(5 * time.Second),
			tasks: []v1alpha1.Task{task("a", v1alpha1.TaskRunning, false), task("b", v1alpha1.TaskKilling, true), task("c", v1alpha1.TaskFailed, false)},
			now:   at(6 * time.Second), wantLiveness: Alive, wantPhase: v1alpha1.NodeDraining,
			wantReady: metav1.ConditionTrue, wantReason: v1alpha1.NodeAgentReadyReason, wantDrained: metav1.ConditionFalse,
			wantDeleted: []string{"a"}, wantRemaining: 2, wantRequeue: 9 * time.Second,
		},
		{
			name: "drain: done when every task is terminal", node: node(true), lease: renewed(5 * time.Second),
			tasks: []v1alpha1.Task{task("a", v1alpha1.TaskKilled, true), task("c", v1alpha1.TaskFailed, false)},
			now:   at(6 * time.Second), wantLiveness: Alive, wantPhase: v1alpha1.NodeDrained,
			wantReady: metav1.ConditionTrue, wantReason: v1alpha1.NodeAgentReadyReason, wantDrained: metav1.ConditionTrue,
			wantRequeue: 9 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := Decide(Input{Name: "node-a", Node: tt.node, Lease: tt.lease, Tasks: tt.tasks, Now: tt.now, Since: t0}, o)
			g.Expect(d.Liveness).To(Equal(tt.wantLiveness))
			g.Expect(d.Phase).To(Equal(tt.wantPhase))
			ready := meta.FindStatusCondition(d.Conditions, v1alpha1.NodeReadyCondition)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(Equal(tt.wantReady))
			g.Expect(ready.Reason).To(Equal(tt.wantReason))
			drained := meta.FindStatusCondition(d.Conditions, v1alpha1.NodeDrainedCondition)
			if tt.wantDrained == "" {
				g.Expect(drained).To(BeNil())
			} else {
				g.Expect(drained).NotTo(BeNil())
				g.Expect(drained.Status).To(Equal(tt.wantDrained))
			}
			states := map[string]v1alpha1.TaskState{}
			var deleted, released []string
			for _, a := range d.Tasks {
				if a.State != "" {
					states[a.Task.Name] = a.State
				}
				if a.Delete {
					deleted = append(deleted, a.Task.Name)
				}
				if a.ReleaseFinalizer {
					released = append(released, a.Task.Name)
				}
			}
			if tt.wantStates == nil {
				tt.wantStates = map[string]v1alpha1.TaskState{}
			}
			g.Expect(states).To(Equal(tt.wantStates))
			g.Expect(deleted).To(Equal(tt.wantDeleted))
			g.Expect(released).To(Equal(tt.wantReleased))
			g.Expect(d.Remaining).To(Equal(tt.wantRemaining))
			g.Expect(d.RequeueAfter).To(Equal(tt.wantRequeue))
		})
	}
}

func TestDecideRemovedNode(t *testing.T) {
	g := NewWithT(t)
	tasks := []v1alpha1.Task{task("a", v1alpha1.TaskRunning, false), task("b", v1alpha1.TaskRunning, true), task("c", v1alpha1.TaskFinished, false)}
	d := Decide(Input{Name: "node-a", Tasks: tasks, Now: at(time.Second), Since: t0}, Options{})
	g.Expect(d.Liveness).To(Equal(Gone))
	g.Expect(d.Tasks).To(HaveLen(2))
	for _, a := range d.Tasks {
		g.Expect(a.State).To(Equal(v1alpha1.TaskGone))
		g.Expect(a.Reason).To(Equal(v1alpha1.ReasonAgentRemoved))
		g.Expect(a.Message).To(Equal("Node node-a was removed"))
		g.Expect(a.ReleaseFinalizer).To(Equal(a.Task.Name == "b"))
	}
	g.Expect(d.Remaining).To(BeZero())
	g.Expect(d.RequeueAfter).To(BeZero())
}

func TestDecideKeepsOtherConditions(t *testing.T) {
	g := NewWithT(t)
	n := node(false)
	n.Status.Conditions = append(n.Status.Conditions, metav1.Condition{Type: "Other", Status: metav1.ConditionTrue, Reason: "X"})
	d := Decide(Input{Name: "node-a", Node: n, Now: at(time.Hour), Since: t0}, Options{NodeTimeout: time.Second, GoneTimeout: time.Hour})
	g.Expect(meta.FindStatusCondition(d.Conditions, "Other")).NotTo(BeNil())
	g.Expect(n.Status.Conditions[0].Status).To(Equal(metav1.ConditionTrue), "the input is not modified")
}

// annotated returns l with the node timeout its agent adopted.
func annotated(l *coordinationv1.Lease, timeout string) *coordinationv1.Lease {
	l.Annotations = map[string]string{v1alpha1.NodeTimeoutAnnotation: timeout}
	return l
}
