package frameworklifecycle

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestActiveCondition(t *testing.T) {
	tests := []struct {
		name       string
		state      LeaseState
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{name: "missing", state: LeaseState{Missing: true}, wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.FrameworkLeaseMissingReason},
		{name: "expired", state: LeaseState{Expiry: at(time.Minute)}, wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.FrameworkLeaseExpiredReason},
		{name: "fresh", state: LeaseState{Fresh: true, Holder: "me"}, wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.FrameworkLeaseHeldReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := ActiveCondition(tt.state, "team-a", "fw")
			g.Expect(c.Type).To(Equal(v1alpha1.FrameworkActiveCondition))
			g.Expect(c.Status).To(Equal(tt.wantStatus))
			g.Expect(c.Reason).To(Equal(tt.wantReason))
			g.Expect(c.Message).NotTo(BeEmpty())
		})
	}
}

func TestInactiveSince(t *testing.T) {
	now, created := at(time.Hour), at(time.Minute)
	falseSince := &metav1.Condition{Status: metav1.ConditionFalse, LastTransitionTime: metav1.NewTime(at(30 * time.Minute))}
	trueSince := &metav1.Condition{Status: metav1.ConditionTrue, LastTransitionTime: metav1.NewTime(at(30 * time.Minute))}
	tests := []struct {
		name   string
		state  LeaseState
		active *metav1.Condition
		want   time.Time
	}{
		{name: "active", state: LeaseState{Fresh: true}, active: trueSince},
		{name: "expired: its expiry", state: LeaseState{Expiry: at(50 * time.Minute)}, active: trueSince, want: at(50 * time.Minute)},
		{name: "missing, never seen: creation", state: LeaseState{Missing: true}, want: created},
		{name: "missing, inactive already: since then", state: LeaseState{Missing: true}, active: falseSince, want: at(30 * time.Minute)},
		{name: "missing, active until now: now", state: LeaseState{Missing: true}, active: trueSince, want: now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(InactiveSince(tt.state, tt.active, created, now)).To(BeTemporally("==", tt.want))
		})
	}
}

func TestTearDownAt(t *testing.T) {
	tests := []struct {
		name     string
		inactive time.Time
		since    time.Time
		failover time.Duration
		want     time.Time
	}{
		{name: "failover after inactive", inactive: at(time.Hour), since: t0, failover: 10 * time.Minute, want: at(70 * time.Minute)},
		{name: "zero failover: at once (Mesos)", inactive: at(time.Hour), since: t0, want: at(time.Hour)},
		{name: "a master that just started waits a lease duration", inactive: t0, since: at(time.Hour), failover: time.Minute, want: at(time.Hour + 15*time.Second + time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(TearDownAt(tt.inactive, tt.since, 15*time.Second, tt.failover)).To(BeTemporally("==", tt.want))
		})
	}
}

func TestTornDownCondition(t *testing.T) {
	torn := &metav1.Condition{Type: v1alpha1.FrameworkTornDownCondition, Status: metav1.ConditionTrue,
		Reason: v1alpha1.FrameworkFailoverTimeoutExpiredReason, Message: "old"}
	tests := []struct {
		name        string
		cur         *metav1.Condition
		tornDown    bool
		active      bool
		wantStatus  metav1.ConditionStatus
		wantReason  string
		wantMessage string
	}{
		{name: "active", active: true, wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.FrameworkLeaseHeldReason},
		{name: "inactive: pending", wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.FrameworkFailoverPendingReason},
		{name: "torn down now", tornDown: true, wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.FrameworkFailoverTimeoutExpiredReason},
		{name: "torn down is final", cur: torn, tornDown: true, active: true, wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.FrameworkFailoverTimeoutExpiredReason, wantMessage: "old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := TornDownCondition(tt.cur, tt.tornDown, tt.active, at(time.Minute), at(time.Hour), 10*time.Minute)
			g.Expect(c.Type).To(Equal(v1alpha1.FrameworkTornDownCondition))
			g.Expect(c.Status).To(Equal(tt.wantStatus))
			g.Expect(c.Reason).To(Equal(tt.wantReason))
			if tt.wantMessage != "" {
				g.Expect(c.Message).To(Equal(tt.wantMessage))
			}
			g.Expect(c.Message).NotTo(BeEmpty())
		})
	}
}

func TestPhase(t *testing.T) {
	tests := []struct {
		name                         string
		tornDown, active, suppressed bool
		want                         v1alpha1.FrameworkPhase
	}{
		{name: "active", active: true, want: v1alpha1.FrameworkActive},
		{name: "suppressed", active: true, suppressed: true, want: v1alpha1.FrameworkSuppressed},
		{name: "inactive", want: v1alpha1.FrameworkInactive},
		{name: "inactive and suppressed", suppressed: true, want: v1alpha1.FrameworkInactive},
		{name: "torn down", tornDown: true, active: true, suppressed: true, want: v1alpha1.FrameworkTornDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(Phase(tt.tornDown, tt.active, tt.suppressed)).To(Equal(tt.want))
		})
	}
}
