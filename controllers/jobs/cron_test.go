package jobs

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestParseSchedule(t *testing.T) {
	for _, ok := range []string{"*/5 * * * *", "0 3 * * 1-5", "@hourly", "@every 10s", "*/10 * * * * *"} {
		_, err := parseSchedule(ok)
		NewWithT(t).Expect(err).NotTo(HaveOccurred(), ok)
	}
	_, err := parseSchedule("61 * * * *")
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring(`spec.schedule: "61 * * * *" is not a cron expression`)))
}

func TestDueRun(t *testing.T) {
	every5 := "*/5 * * * *"
	at := func(hm string) time.Time {
		d, _ := time.ParseDuration(hm)
		return t0.Add(d)
	}
	tests := []struct {
		name     string
		schedule string
		after    time.Time
		now      time.Time
		window   time.Duration
		wantDue  time.Time
		wantOK   bool
		wantNext time.Time
	}{
		{name: "nothing due yet", schedule: every5, after: at("1m"), now: at("4m"), window: time.Minute, wantNext: at("5m")},
		{name: "due now", schedule: every5, after: at("1m"), now: at("5m"), window: time.Minute, wantDue: at("5m"), wantOK: true, wantNext: at("10m")},
		{name: "due a little while ago", schedule: every5, after: at("1m"), now: at("5m30s"), window: time.Minute, wantDue: at("5m"), wantOK: true, wantNext: at("10m")},
		{name: "missed: too long ago", schedule: every5, after: at("1m"), now: at("7m"), window: time.Minute, wantNext: at("10m")},
		{name: "only the latest of several", schedule: every5, after: t0.Add(-time.Hour), now: at("10m20s"), window: 20 * time.Minute, wantDue: at("10m"), wantOK: true, wantNext: at("15m")},
		{name: "started already", schedule: every5, after: at("5m"), now: at("5m30s"), window: time.Minute, wantNext: at("10m")},
		// "@every" counts from the time it is asked about, not from a fixed grid.
		{name: "every 10s", schedule: "@every 10s", after: t0, now: t0.Add(25 * time.Second), window: time.Minute, wantDue: t0.Add(20 * time.Second), wantOK: true, wantNext: t0.Add(35 * time.Second)},
		{name: "evaluated in UTC", schedule: "0 12 * * *", after: t0.Add(-time.Hour).In(time.FixedZone("X", 3600*5)), now: t0.Add(10 * time.Second), window: time.Minute, wantDue: t0, wantOK: true, wantNext: t0.Add(24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s, err := parseSchedule(tt.schedule)
			g.Expect(err).NotTo(HaveOccurred())
			due, ok, next := dueRun(s, tt.after, tt.now, tt.window)
			g.Expect(ok).To(Equal(tt.wantOK))
			if tt.wantOK {
				g.Expect(due).To(BeTemporally("==", tt.wantDue))
			}
			g.Expect(next).To(BeTemporally("==", tt.wantNext))
		})
	}
}

func TestDecideRun(t *testing.T) {
	tests := []struct {
		policy v1alpha1.ConcurrencyPolicy
		active int
		want   runDecision
	}{
		{v1alpha1.AllowConcurrent, 0, runDecision{start: true}},
		{v1alpha1.AllowConcurrent, 2, runDecision{start: true}},
		{"", 1, runDecision{start: true}},
		{v1alpha1.ForbidConcurrent, 0, runDecision{start: true}},
		{v1alpha1.ForbidConcurrent, 1, runDecision{}},
		{v1alpha1.ReplaceConcurrent, 0, runDecision{start: true}},
		{v1alpha1.ReplaceConcurrent, 1, runDecision{start: true, replace: true}},
	}
	for _, tt := range tests {
		NewWithT(t).Expect(decideRun(tt.policy, tt.active)).To(Equal(tt.want), "%s with %d active", tt.policy, tt.active)
	}
}

func TestTrimHistory(t *testing.T) {
	ok := func(name string, min int) runRef {
		return runRef{name: name, complete: true, finished: t0.Add(time.Duration(min) * time.Minute)}
	}
	bad := func(name string, min int) runRef {
		return runRef{name: name, failed: true, finished: t0.Add(time.Duration(min) * time.Minute)}
	}
	runs := []runRef{ok("s1", 1), ok("s3", 3), ok("s2", 2), ok("s4", 4), bad("f1", 1), bad("f2", 2), {name: "active"}}
	tests := []struct {
		name          string
		success, fail int32
		want          []string
	}{
		{name: "defaults", success: 3, fail: 1, want: []string{"f1", "s1"}},
		{name: "keep none", success: 0, fail: 0, want: []string{"f1", "f2", "s1", "s2", "s3", "s4"}},
		{name: "keep all", success: 10, fail: 10, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(trimHistory(runs, tt.success, tt.fail)).To(Equal(tt.want))
		})
	}
}

func TestNewRun(t *testing.T) {
	g := NewWithT(t)
	parent := &v1alpha1.Job{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "ns", UID: "u-1"}}
	parent.Spec = v1alpha1.JobSpec{Schedule: "@hourly", ConcurrencyPolicy: v1alpha1.ForbidConcurrent, Completions: ptr.To[int32](3),
		SuccessfulJobsHistoryLimit: ptr.To[int32](1), Template: v1alpha1.TaskTemplate{Container: v1alpha1.Container{Command: []string{"true"}}}}
	run := newRun(parent, t0)
	g.Expect(run.Name).To(Equal("nightly-1772366400"))
	g.Expect(run.Namespace).To(Equal("ns"))
	g.Expect(run.Spec.Schedule).To(BeEmpty())
	g.Expect(run.Spec.ConcurrencyPolicy).To(BeEmpty())
	g.Expect(run.Spec.SuccessfulJobsHistoryLimit).To(BeNil())
	g.Expect(*run.Spec.Completions).To(Equal(int32(3)))
	g.Expect(run.Spec.Template.Container.Command).To(Equal([]string{"true"}))
	g.Expect(metav1.GetControllerOf(run).UID).To(Equal(parent.UID))
	g.Expect(run.Labels).To(HaveKeyWithValue(LabelScheduledBy, "u-1"))
	g.Expect(refOfRun(run).scheduled).To(BeTemporally("==", t0))
	g.Expect(parent.Spec.Schedule).To(Equal("@hourly"), "the parent is untouched")
}
