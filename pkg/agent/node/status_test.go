package node

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestDesiredStatusAndNeedsUpdate(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	cpus := resource.MustParse("2")
	facts := Facts{
		Capacity: v1alpha1.Resources{Cpus: &cpus}, Allocatable: v1alpha1.Resources{Cpus: &cpus},
		Attributes: map[string]string{"rack": "r1"}, Hostname: "h1", Address: "10.0.0.1",
		DaemonPort: 10250, DaemonCABundle: "CA", AgentVersion: "0.1.0", Runtime: "runc 1.5.2",
	}
	earlier := metav1.NewTime(now.Add(-time.Hour))
	ready := metav1.Condition{Type: v1alpha1.NodeReadyCondition, Status: metav1.ConditionTrue, Reason: v1alpha1.NodeAgentReadyReason,
		Message: "The agent heartbeats and its runtime works", LastTransitionTime: earlier}
	fresh := DesiredStatus(facts, v1alpha1.NodeStatus{}, now.Add(-10*time.Second))
	fresh.Conditions[0].LastTransitionTime = earlier
	fresh.Phase = v1alpha1.NodeReady // the master's: never compared
	fresh.Allocated = v1alpha1.Resources{Cpus: &cpus}

	tests := []struct {
		name     string
		cur      v1alpha1.NodeStatus
		facts    Facts
		want     bool
		wantLTT  metav1.Time
		wantCond metav1.ConditionStatus
	}{
		{name: "new node", cur: v1alpha1.NodeStatus{}, facts: facts, want: true, wantLTT: metav1.NewTime(now), wantCond: metav1.ConditionTrue},
		{name: "up to date", cur: fresh, facts: facts, want: false, wantLTT: earlier, wantCond: metav1.ConditionTrue},
		{name: "heartbeat too old", cur: withHeartbeat(fresh, now.Add(-2*time.Minute)), facts: facts, want: true, wantLTT: earlier, wantCond: metav1.ConditionTrue},
		{name: "master set Ready Unknown", cur: withReady(fresh, metav1.Condition{Type: v1alpha1.NodeReadyCondition, Status: metav1.ConditionUnknown,
			Reason: v1alpha1.NodeAgentUnreachableReason, LastTransitionTime: earlier}), facts: facts, want: true, wantLTT: metav1.NewTime(now), wantCond: metav1.ConditionTrue},
		{name: "runtime broken", cur: fresh, facts: withProblem(facts, "runc is gone"), want: true, wantLTT: metav1.NewTime(now), wantCond: metav1.ConditionFalse},
		{name: "address changed", cur: fresh, facts: withAddress(facts, "10.0.0.2"), want: true, wantLTT: earlier, wantCond: metav1.ConditionTrue},
		{name: "ready condition from before", cur: withReady(fresh, ready), facts: facts, want: false, wantLTT: earlier, wantCond: metav1.ConditionTrue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			desired := DesiredStatus(tt.facts, tt.cur, now)
			g.Expect(NeedsUpdate(tt.cur, desired, now, time.Minute)).To(Equal(tt.want))
			g.Expect(desired.Conditions).To(HaveLen(1))
			g.Expect(desired.Conditions[0].Status).To(Equal(tt.wantCond))
			g.Expect(desired.Conditions[0].LastTransitionTime.Time).To(BeTemporally("==", tt.wantLTT.Time))
			g.Expect(desired.Phase).To(BeEmpty(), "the phase is the master's")
			g.Expect(desired.Allocated).To(BeZero(), "allocated is the master's")
			g.Expect(desired.LastHeartbeatTime.Time).To(Equal(now))
		})
	}
}

func withHeartbeat(s v1alpha1.NodeStatus, at time.Time) v1alpha1.NodeStatus {
	s = *s.DeepCopy()
	s.LastHeartbeatTime = &metav1.Time{Time: at}
	return s
}

func withReady(s v1alpha1.NodeStatus, c metav1.Condition) v1alpha1.NodeStatus {
	s = *s.DeepCopy()
	s.Conditions = []metav1.Condition{c}
	return s
}

func withProblem(f Facts, p string) Facts { f.Problem = p; return f }

func withAddress(f Facts, a string) Facts { f.Address = a; return f }
