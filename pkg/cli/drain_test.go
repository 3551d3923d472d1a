package cli

import (
	"encoding/json"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestDrainPatch(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		grace time.Duration
		want  string
	}{
		{name: "each task's own grace period", grace: -1,
			want: `{"spec":{"drain":{"gracePeriod":null,"requestedAt":"2026-03-01T12:00:00Z"},"unschedulable":true}}`},
		{name: "capped grace period", grace: 10 * time.Second,
			want: `{"spec":{"drain":{"gracePeriod":"10s","requestedAt":"2026-03-01T12:00:00Z"},"unschedulable":true}}`},
		{name: "no grace at all", grace: 0,
			want: `{"spec":{"drain":{"gracePeriod":"0s","requestedAt":"2026-03-01T12:00:00Z"},"unschedulable":true}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			patch, err := drainOptions{gracePeriod: tt.grace}.drainPatch(now)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(patch)).To(MatchJSON(tt.want))
		})
	}
}

func TestLiveTasks(t *testing.T) {
	g := NewWithT(t)
	task := func(ns, name, state string) unstructured.Unstructured {
		var u unstructured.Unstructured
		g.Expect(json.Unmarshal([]byte(`{"metadata":{"namespace":"`+ns+`","name":"`+name+`"},"status":{"state":"`+state+`"}}`), &u.Object)).To(Succeed())
		return u
	}
	items := []unstructured.Unstructured{
		task("b", "web-2", "Running"), task("a", "web-1", "Killing"), task("a", "done", "Finished"),
		task("a", "gone", "Gone"), task("a", "new", ""), task("a", "lost", "Unreachable"),
	}
	left := liveTasks(items)
	g.Expect(left).To(Equal([]string{"a/lost (Unreachable)", "a/new (Pending)", "a/web-1 (Killing)", "b/web-2 (Running)"}))
	g.Expect(describeLeft(left)).To(Equal("4 tasks left: a/lost (Unreachable), a/new (Pending), a/web-1 (Killing), b/web-2 (Running)"))
	g.Expect(describeLeft(left[:1])).To(Equal("1 task left: a/lost (Unreachable)"))
	many := []string{"1", "2", "3", "4", "5", "6", "7"}
	g.Expect(describeLeft(many)).To(Equal("7 tasks left: 1, 2, 3, 4, 5, and 2 more"))
}
