package sdk

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestOffersNamedByLiveTasks(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	task := func(fw string, created time.Time, node string, state v1alpha1.TaskState, offers ...string) v1alpha1.Task {
		var t v1alpha1.Task
		t.CreationTimestamp = metav1.NewTime(created)
		t.Spec.Framework, t.Spec.NodeName, t.Spec.Offers = fw, node, offers
		t.Status.State = state
		return t
	}
	offer := func(name string, created time.Time) *v1alpha1.Offer {
		o := &v1alpha1.Offer{}
		o.Name, o.CreationTimestamp = name, metav1.NewTime(created)
		return o
	}
	named := offersNamedByLiveTasks("fw", []v1alpha1.Task{
		task("fw", t0.Add(time.Second), "", "", "waiting"),
		task("fw", t0.Add(time.Second), "n1", v1alpha1.TaskRunning, "bound-a", "bound-b"),
		task("fw", t0.Add(time.Second), "", v1alpha1.TaskDropped, "dropped"),
		task("fw", t0.Add(time.Second), "n1", v1alpha1.TaskFinished, "finished"),
		task("other", t0.Add(time.Second), "", "", "others"),
		task("fw", t0.Add(-time.Hour), "n1", v1alpha1.TaskRunning, "reused"),
	})
	for _, tt := range []struct {
		offer *v1alpha1.Offer
		held  bool
		why   string
	}{
		{offer("waiting", t0), true, "a task waiting to be bound names it"},
		{offer("bound-a", t0), true, "a bound task names it: accepted, whatever the cache shows"},
		{offer("bound-b", t0.Add(time.Second)), true, "created in the same second as the task"},
		{offer("dropped", t0), false, "its only task was dropped: the offer may still be used"},
		{offer("finished", t0), false, "its task ended"},
		{offer("others", t0), false, "another framework's task"},
		{offer("reused", t0), false, "the task is older than the offer: it named an earlier offer of that name"},
		{offer("unnamed", t0), false, "no task names it"},
	} {
		if got := named.holds(tt.offer); got != tt.held {
			t.Errorf("offer %s: held %v, want %v (%s)", tt.offer.Name, got, tt.held, tt.why)
		}
	}
}
