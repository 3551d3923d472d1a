package nodelifecycle

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

func cond(typ string, status metav1.ConditionStatus, reason string) *metav1.Condition {
	return &metav1.Condition{Type: typ, Status: status, Reason: reason}
}

func TestReadyCondition(t *testing.T) {
	o := Options{NodeTimeout: 75 * time.Second, GoneTimeout: 10 * time.Minute}
	agentReady := cond(v1alpha1.NodeReadyCondition, metav1.ConditionTrue, v1alpha1.NodeAgentReadyReason)
	agentNotReady := cond(v1alpha1.NodeReadyCondition, metav1.ConditionFalse, v1alpha1.NodeAgentNotReadyReason)
	unreachable := cond(v1alpha1.NodeReadyCondition, metav1.ConditionUnknown, v1alpha1.NodeAgentUnreachableReason)
	gone := cond(v1alpha1.NodeReadyCondition, metav1.ConditionFalse, v1alpha1.NodeAgentGoneReason)
	tests := []struct {
		name       string
		cur        *metav1.Condition
		liveness   Liveness
		wantSet    bool
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{name: "alive: the agent's True stands", cur: agentReady, liveness: Alive},
		{name: "alive: the agent's False stands", cur: agentNotReady, liveness: Alive},
		{name: "alive without a condition: none", liveness: Alive},
		{name: "unreachable", cur: agentReady, liveness: Unreachable, wantSet: true, wantStatus: metav1.ConditionUnknown, wantReason: v1alpha1.NodeAgentUnreachableReason},
		{name: "unreachable without a condition", liveness: Unreachable, wantSet: true, wantStatus: metav1.ConditionUnknown, wantReason: v1alpha1.NodeAgentUnreachableReason},
		{name: "gone", cur: unreachable, liveness: Gone, wantSet: true, wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.NodeAgentGoneReason},
		{name: "back from unreachable", cur: unreachable, liveness: Alive, wantSet: true, wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.NodeAgentReconnectedReason},
		{name: "back from gone", cur: gone, liveness: Alive, wantSet: true, wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.NodeAgentReconnectedReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c, ok := ReadyCondition(tt.cur, tt.liveness, t0, o)
			g.Expect(ok).To(Equal(tt.wantSet))
			if !tt.wantSet {
				return
			}
			g.Expect(c.Type).To(Equal(v1alpha1.NodeReadyCondition))
			g.Expect(c.Status).To(Equal(tt.wantStatus))
			g.Expect(c.Reason).To(Equal(tt.wantReason))
			g.Expect(c.Message).NotTo(BeEmpty())
		})
	}
}

func TestDrainedCondition(t *testing.T) {
	tests := []struct {
		name        string
		draining    bool
		remaining   int
		wantSet     bool
		wantStatus  metav1.ConditionStatus
		wantReason  string
		wantMessage string
	}{
		{name: "not draining", remaining: 3},
		{name: "draining with tasks", draining: true, remaining: 2, wantSet: true, wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.NodeDrainingReason, wantMessage: "2 tasks are left on the node"},
		{name: "draining with one task", draining: true, remaining: 1, wantSet: true, wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.NodeDrainingReason, wantMessage: "1 task is left on the node"},
		{name: "drained", draining: true, wantSet: true, wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.NodeDrainCompleteReason, wantMessage: "No task is left on the node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c, ok := DrainedCondition(tt.draining, tt.remaining)
			g.Expect(ok).To(Equal(tt.wantSet))
			if tt.wantSet {
				g.Expect(c.Status).To(Equal(tt.wantStatus))
				g.Expect(c.Reason).To(Equal(tt.wantReason))
				g.Expect(c.Message).To(Equal(tt.wantMessage))
			}
		})
	}
}

func TestPhase(t *testing.T) {
	ready := cond(v1alpha1.NodeReadyCondition, metav1.ConditionTrue, v1alpha1.NodeAgentReadyReason)
	notReady := cond(v1alpha1.NodeReadyCondition, metav1.ConditionFalse, v1alpha1.NodeAgentNotReadyReason)
	unknown := cond(v1alpha1.NodeReadyCondition, metav1.ConditionUnknown, v1alpha1.NodeAgentUnreachableReason)
	tests := []struct {
		name      string
		liveness  Liveness
		ready     *metav1.Condition
		draining  bool
		remaining int
		want      v1alpha1.NodePhase
	}{
		{name: "registered, not reported", liveness: Alive, want: v1alpha1.NodePending},
		{name: "ready", liveness: Alive, ready: ready, want: v1alpha1.NodeReady},
		{name: "cordoned is still ready", liveness: Alive, ready: ready, remaining: 3, want: v1alpha1.NodeReady},
		{name: "not ready", liveness: Alive, ready: notReady, want: v1alpha1.NodeNotReady},
		{name: "unknown is not ready", liveness: Alive, ready: unknown, want: v1alpha1.NodeNotReady},
		{name: "draining", liveness: Alive, ready: ready, draining: true, remaining: 2, want: v1alpha1.NodeDraining},
		{name: "drained", liveness: Alive, ready: ready, draining: true, want: v1alpha1.NodeDrained},
		{name: "draining a not ready node", liveness: Alive, ready: notReady, draining: true, remaining: 1, want: v1alpha1.NodeDraining},
		{name: "unreachable wins over draining", liveness: Unreachable, ready: unknown, draining: true, remaining: 1, want: v1alpha1.NodeUnreachable},
		{name: "unreachable", liveness: Unreachable, ready: unknown, want: v1alpha1.NodeUnreachable},
		{name: "gone", liveness: Gone, ready: notReady, draining: true, want: v1alpha1.NodeGone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(Phase(tt.liveness, tt.ready, tt.draining, tt.remaining)).To(Equal(tt.want))
		})
	}
}

func TestSetCondition(t *testing.T) {
	g := NewWithT(t)
	before := metav1.NewTime(t0)
	conds := []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "AgentReady", LastTransitionTime: before}}

	same := setCondition(conds, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "AgentReconnected"}, at(time.Hour))
	g.Expect(same[0].LastTransitionTime).To(Equal(before), "an unchanged status keeps its transition time")
	g.Expect(same[0].Reason).To(Equal("AgentReconnected"))

	changed := setCondition(conds, metav1.Condition{Type: "Ready", Status: metav1.ConditionUnknown, Reason: "AgentUnreachable"}, at(time.Hour))
	g.Expect(changed[0].LastTransitionTime.Time).To(BeTemporally("==", at(time.Hour)))
	g.Expect(conds[0].Status).To(Equal(metav1.ConditionTrue), "the input is not modified")

	added := setCondition(conds, metav1.Condition{Type: "Drained", Status: metav1.ConditionFalse, Reason: "Draining"}, at(time.Hour))
	g.Expect(added).To(HaveLen(2))
	g.Expect(removeCondition(added, "Drained")).To(Equal(conds))
	g.Expect(added).To(HaveLen(2), "the input is not modified")
}
