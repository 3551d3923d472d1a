package jobs

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"meseta.dev/meseta/apis/v1alpha1"
)

func cond(typ string, status metav1.ConditionStatus, reason string, at time.Time) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, LastTransitionTime: metav1.NewTime(at)}
}

func TestConditionSetters(t *testing.T) {
	t1 := t0.Add(time.Minute)
	tests := []struct {
		name string
		in   []metav1.Condition
		set  func(st *v1alpha1.JobStatus)
		want []metav1.Condition
	}{
		{
			name: "complete",
			set:  func(st *v1alpha1.JobStatus) { st.Succeeded = 5; markComplete(st, 5, 2, t0) },
			want: []metav1.Condition{cond("Complete", "True", "CompletionsReached", t0)},
		},
		{
			name: "complete is set once",
			in:   []metav1.Condition{cond("Complete", "True", "CompletionsReached", t0)},
			set:  func(st *v1alpha1.JobStatus) { markComplete(st, 5, 2, t1) },
			want: []metav1.Condition{cond("Complete", "True", "CompletionsReached", t0)},
		},
		{
			name: "failed keeps its first reason",
			in:   []metav1.Condition{cond("Failed", "True", "BackoffLimitExceeded", t0)},
			set:  func(st *v1alpha1.JobStatus) { markFailed(st, "DeadlineExceeded", "late", 2, t1) },
			want: []metav1.Condition{cond("Failed", "True", "BackoffLimitExceeded", t0)},
		},
		{
			name: "never suspended: no condition",
			set:  func(st *v1alpha1.JobStatus) { markSuspended(st, false, 2, t0) },
		},
		{
			name: "suspended",
			set:  func(st *v1alpha1.JobStatus) { markSuspended(st, true, 2, t0) },
			want: []metav1.Condition{cond("Suspended", "True", "JobSuspended", t0)},
		},
		{
			name: "still suspended keeps the transition time",
			in:   []metav1.Condition{cond("Suspended", "True", "JobSuspended", t0)},
			set:  func(st *v1alpha1.JobStatus) { markSuspended(st, true, 2, t1) },
			want: []metav1.Condition{cond("Suspended", "True", "JobSuspended", t0)},
		},
		{
			name: "resumed",
			in:   []metav1.Condition{cond("Suspended", "True", "JobSuspended", t0)},
			set:  func(st *v1alpha1.JobStatus) { markSuspended(st, false, 2, t1) },
			want: []metav1.Condition{cond("Suspended", "False", "JobResumed", t1)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			st := &v1alpha1.JobStatus{Conditions: tt.in}
			tt.set(st)
			g.Expect(st.Conditions).To(HaveLen(len(tt.want)))
			for i, w := range tt.want {
				c := st.Conditions[i]
				g.Expect(c.Type).To(Equal(w.Type))
				g.Expect(c.Status).To(Equal(w.Status))
				g.Expect(c.Reason).To(Equal(w.Reason))
				g.Expect(c.LastTransitionTime.Time).To(BeTemporally("==", w.LastTransitionTime.Time))
			}
		})
	}
}

func TestRunStatus(t *testing.T) {
	job := func(mutate func(*v1alpha1.Job)) *v1alpha1.Job {
		j := &v1alpha1.Job{}
		j.Generation = 3
		j.Spec.Completions = ptr.To[int32](2)
		if mutate != nil {
			mutate(j)
		}
		return j
	}
	start := metav1.NewTime(t0.Add(-time.Minute))
	tests := []struct {
		name  string
		job   *v1alpha1.Job
		plan  runPlan
		check func(g Gomega, st v1alpha1.JobStatus)
	}{
		{
			name: "first launch sets startTime and counts",
			job:  job(nil), plan: runPlan{launches: []launch{{0, 0}}},
			check: func(g Gomega, st v1alpha1.JobStatus) {
				g.Expect(st.StartTime.Time).To(Equal(t0))
				g.Expect(st.ObservedGeneration).To(Equal(int64(3)))
				g.Expect(st.Conditions).To(BeEmpty())
			},
		},
		{
			name: "complete sets completionTime",
			job:  job(func(j *v1alpha1.Job) { j.Status.StartTime = &start }), plan: runPlan{succeeded: 2, complete: true},
			check: func(g Gomega, st v1alpha1.JobStatus) {
				g.Expect(st.Succeeded).To(Equal(int32(2)))
				g.Expect(st.CompletionTime.Time).To(Equal(t0))
				g.Expect(st.StartTime).To(Equal(&start))
				g.Expect(st.Conditions).To(ContainElement(HaveField("Message", "2 of 2 tasks succeeded")))
			},
		},
		{
			name: "failed",
			job:  job(nil), plan: runPlan{failed: 7, failedReason: "BackoffLimitExceeded", failedMessage: "m"},
			check: func(g Gomega, st v1alpha1.JobStatus) {
				g.Expect(st.Failed).To(Equal(int32(7)))
				g.Expect(st.Conditions).To(ConsistOf(HaveField("Type", "Failed")))
				g.Expect(st.CompletionTime).To(BeNil())
			},
		},
		{
			name: "counts are frozen once finished, active is not",
			job: job(func(j *v1alpha1.Job) {
				j.Status.Succeeded, j.Status.Failed = 2, 1
				j.Status.Conditions = []metav1.Condition{cond("Complete", "True", "CompletionsReached", t0)}
			}),
			plan: runPlan{active: 1},
			check: func(g Gomega, st v1alpha1.JobStatus) {
				g.Expect([]int32{st.Active, st.Succeeded, st.Failed}).To(Equal([]int32{1, 2, 1}))
			},
		},
		{
			name: "suspended with nothing active clears startTime",
			job: job(func(j *v1alpha1.Job) {
				j.Spec.Suspend = true
				j.Status.StartTime = &start
			}),
			plan: runPlan{},
			check: func(g Gomega, st v1alpha1.JobStatus) {
				g.Expect(st.StartTime).To(BeNil())
				g.Expect(st.Conditions).To(ConsistOf(HaveField("Type", "Suspended")))
			},
		},
		{
			name: "suspended while tasks are killed keeps startTime",
			job: job(func(j *v1alpha1.Job) {
				j.Spec.Suspend = true
				j.Status.StartTime = &start
			}),
			plan:  runPlan{active: 1},
			check: func(g Gomega, st v1alpha1.JobStatus) { g.Expect(st.StartTime).To(Equal(&start)) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			tt.check(g, runStatus(tt.job, tt.plan, t0))
		})
	}
}
