package rolestatus

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestParentCondition(t *testing.T) {
	tests := []struct {
		name         string
		role         string
		parentExists bool
		wantStatus   metav1.ConditionStatus
		wantReason   string
	}{
		{name: "top level", role: "eng", wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.RoleTopLevelReason},
		{name: "nested with parent", role: "eng.frontend", parentExists: true, wantStatus: metav1.ConditionTrue, wantReason: v1alpha1.RoleParentFoundReason},
		{name: "nested without parent", role: "eng.frontend", wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.RoleParentMissingReason},
		{name: "deeply nested without parent", role: "eng.frontend.web", wantStatus: metav1.ConditionFalse, wantReason: v1alpha1.RoleParentMissingReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := ParentCondition(tt.role, tt.parentExists)
			g.Expect(c.Type).To(Equal(v1alpha1.RoleParentExistsCondition))
			g.Expect(c.Status).To(Equal(tt.wantStatus))
			g.Expect(c.Reason).To(Equal(tt.wantReason))
			g.Expect(c.Message).NotTo(BeEmpty())
		})
	}
	g := NewWithT(t)
	g.Expect(ParentCondition("eng.frontend.web", false).Message).To(ContainSubstring("No Role eng.frontend:"))
}

func TestDesiredStatus(t *testing.T) {
	g := NewWithT(t)
	role := &v1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: "eng.web", Generation: 2}}
	s := DesiredStatus(role, 3, false, t0)
	g.Expect(s.Frameworks).To(Equal(int32(3)))
	g.Expect(s.Conditions).To(HaveLen(1))
	g.Expect(s.Conditions[0].LastTransitionTime.Time).To(BeTemporally("==", t0))
	g.Expect(s.Conditions[0].ObservedGeneration).To(Equal(int64(2)))

	role.Status.Conditions = s.Conditions
	later := DesiredStatus(role, 1, false, t0.Add(time.Hour))
	g.Expect(later.Conditions[0].LastTransitionTime.Time).To(BeTemporally("==", t0), "an unchanged status keeps its time")
	g.Expect(statusIs(&v1alpha1.RoleStatus{Frameworks: 1, Conditions: s.Conditions}, later)).To(BeTrue())
	g.Expect(statusIs(&v1alpha1.RoleStatus{Frameworks: 3, Conditions: s.Conditions}, later)).To(BeFalse())

	found := DesiredStatus(role, 1, true, t0.Add(time.Hour))
	g.Expect(found.Conditions[0].LastTransitionTime.Time).To(BeTemporally("==", t0.Add(time.Hour)))
}

func TestCountFrameworks(t *testing.T) {
	fw := func(ns, role string) v1alpha1.Framework {
		return v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Name: "f", Namespace: ns}, Spec: v1alpha1.FrameworkSpec{Role: role}}
	}
	fws := []v1alpha1.Framework{fw("team-a", ""), fw("team-b", "team-a"), fw("team-a", "eng"), fw("team-c", "team-a.child")}
	tests := []struct {
		role string
		want int
	}{
		{role: "team-a", want: 2},
		{role: "eng", want: 1},
		{role: "team-a.child", want: 1},
		{role: "team-c", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			NewWithT(t).Expect(CountFrameworks(fws, tt.role)).To(Equal(tt.want))
		})
	}
}
