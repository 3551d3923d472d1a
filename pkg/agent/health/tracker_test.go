package health

import (
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestSpecFromDefaults(t *testing.T) {
	g := NewWithT(t)
	s := SpecFrom(&v1alpha1.HealthCheck{Type: v1alpha1.HealthCheckHTTP, HTTP: &v1alpha1.HTTPHealthCheck{Port: 80}})
	g.Expect(s).To(Equal(Spec{
		Type: v1alpha1.HealthCheckHTTP, Port: 80, Path: "/", Scheme: v1alpha1.HTTPSchemeHTTP,
		Delay: 15 * time.Second, Interval: 10 * time.Second, Timeout: 20 * time.Second,
		GracePeriod: 10 * time.Second, ConsecutiveFailures: 3,
	}))
	s = SpecFrom(&v1alpha1.HealthCheck{Type: v1alpha1.HealthCheckTCP, TCP: &v1alpha1.TCPHealthCheck{Port: 9},
		Delay: &metav1.Duration{}, Interval: &metav1.Duration{Duration: time.Second}, ConsecutiveFailures: ptr[int32](1)})
	g.Expect(s.Delay).To(BeZero())
	g.Expect(s.Interval).To(Equal(time.Second))
	g.Expect(s.ConsecutiveFailures).To(BeEquivalentTo(1))
	g.Expect(s.Port).To(BeEquivalentTo(9))
}

func TestTracker(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	spec := Spec{GracePeriod: 10 * time.Second, ConsecutiveFailures: 3}
	fail := errors.New("connection refused")
	type check struct {
		at  time.Duration // after start
		err error
	}
	tests := []struct {
		name         string
		checks       []check
		wantHealthy  bool
		wantFailures int32
		wantKill     bool
		wantChanges  int // results reported
	}{
		{name: "healthy", checks: []check{{1 * time.Second, nil}, {2 * time.Second, nil}}, wantHealthy: true, wantChanges: 1},
		{name: "failures in the grace period do not count", checks: []check{{1 * time.Second, fail}, {2 * time.Second, fail}, {3 * time.Second, fail}, {4 * time.Second, fail}},
			wantFailures: 0, wantChanges: 1},
		{name: "failures after the grace period kill", checks: []check{{11 * time.Second, fail}, {12 * time.Second, fail}, {13 * time.Second, fail}},
			wantFailures: 3, wantKill: true, wantChanges: 2},
		{name: "a success resets the count", checks: []check{{11 * time.Second, fail}, {12 * time.Second, fail}, {13 * time.Second, nil}, {14 * time.Second, fail}, {15 * time.Second, fail}},
			wantFailures: 2, wantChanges: 3},
		{name: "a success ends the grace period early", checks: []check{{1 * time.Second, nil}, {2 * time.Second, fail}, {3 * time.Second, fail}, {4 * time.Second, fail}},
			wantFailures: 3, wantKill: true, wantChanges: 3},
		{name: "grace failures then real ones", checks: []check{{5 * time.Second, fail}, {9 * time.Second, fail}, {11 * time.Second, fail}, {12 * time.Second, fail}},
			wantFailures: 2, wantChanges: 1},
		{name: "kill is final", checks: []check{{11 * time.Second, fail}, {12 * time.Second, fail}, {13 * time.Second, fail}, {14 * time.Second, nil}},
			wantFailures: 3, wantKill: true, wantChanges: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			tr := NewTracker(spec, start)
			_, ok := tr.Result()
			g.Expect(ok).To(BeFalse())
			changes := 0
			var res Result
			for _, c := range tt.checks {
				var changed bool
				res, changed = tr.Record(c.err, start.Add(c.at))
				if changed {
					changes++
				}
			}
			g.Expect(res.Healthy).To(Equal(tt.wantHealthy))
			g.Expect(res.ConsecutiveFailures).To(Equal(tt.wantFailures))
			g.Expect(res.Kill).To(Equal(tt.wantKill))
			g.Expect(changes).To(Equal(tt.wantChanges))
			if !tt.wantHealthy {
				g.Expect(res.Message).To(ContainSubstring("connection refused"))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
