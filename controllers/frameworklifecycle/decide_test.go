package frameworklifecycle

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/apis/v1alpha1"
)

// framework returns team-a/fw, created at t0, with the finalizer, a failover
// timeout of a minute and the given conditions.
func framework(conds ...metav1.Condition) *v1alpha1.Framework {
	return &v1alpha1.Framework{
		ObjectMeta: metav1.ObjectMeta{Name: "fw", Namespace: "team-a", Generation: 3, CreationTimestamp: metav1.NewTime(t0),
			Finalizers: []string{v1alpha1.FrameworkFinalizer}},
		Spec:   v1alpha1.FrameworkSpec{FailoverTimeout: &metav1.Duration{Duration: time.Minute}},
		Status: v1alpha1.FrameworkStatus{Conditions: conds},
	}
}

func task(name string, s v1alpha1.TaskState, deleting bool) *v1alpha1.Task {
	t := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a", UID: types.UID("uid-" + name)},
		Spec: v1alpha1.TaskSpec{Framework: "fw"}, Status: v1alpha1.TaskStatus{State: s}}
	if deleting {
		t.DeletionTimestamp = ptr(metav1.NewTime(t0))
		t.Finalizers = []string{v1alpha1.TaskFinalizer}
	}
	return t
}

func condition(typ string, s metav1.ConditionStatus, reason string, since time.Time) metav1.Condition {
	return metav1.Condition{Type: typ, Status: s, Reason: reason, LastTransitionTime: metav1.NewTime(since)}
}

func TestDecide(t *testing.T) {
	running := []*v1alpha1.Task{task("a", v1alpha1.TaskRunning, false), task("b", v1alpha1.TaskFinished, false), task("c", "", false)}
	wasActive := condition(v1alpha1.FrameworkActiveCondition, metav1.ConditionTrue, v1alpha1.FrameworkLeaseHeldReason, t0)
	inactiveSince := func(d time.Duration) metav1.Condition {
		return condition(v1alpha1.FrameworkActiveCondition, metav1.ConditionFalse, v1alpha1.FrameworkLeaseMissingReason, at(d))
	}
	tornDown := condition(v1alpha1.FrameworkTornDownCondition, metav1.ConditionTrue, v1alpha1.FrameworkFailoverTimeoutExpiredReason, at(time.Minute))
	tests := []struct {
		name          string
		fw            *v1alpha1.Framework
		lease         *coordinationv1.Lease
		tasks         []*v1alpha1.Task
		now           time.Time
		wantPhase     v1alpha1.FrameworkPhase
		wantActive    metav1.ConditionStatus
		wantReason    string
		wantTornDown  metav1.ConditionStatus
		wantTasks     int32
		wantDelete    []string
		wantRequeue   time.Duration
		wantActiveLTT time.Time
	}{
		{
			name: "new framework without a lease: inactive, teardown pending from its creation", fw: framework(), tasks: nil, now: at(10 * time.Second),
			wantPhase: v1alpha1.FrameworkInactive, wantActive: metav1.ConditionFalse, wantReason: v1alpha1.FrameworkLeaseMissingReason,
			wantTornDown: metav1.ConditionFalse, wantRequeue: 65 * time.Second, wantActiveLTT: t0,
		},
		{
			name: "fresh lease: active until it expires", fw: framework(), lease: lease(ptr(at(20*time.Second)), 15, "me"), tasks: running, now: at(25 * time.Second),
			wantPhase: v1alpha1.FrameworkActive, wantActive: metav1.ConditionTrue, wantReason: v1alpha1.FrameworkLeaseHeldReason,
			wantTornDown: metav1.ConditionFalse, wantTasks: 2, wantRequeue: 10 * time.Second, wantActiveLTT: at(25 * time.Second),
		},
		{
			name: "expired lease: inactive since its expiry, tasks keep running", fw: framework(wasActive), lease: lease(ptr(at(20*time.Second)), 15, "me"), tasks: running, now: at(40 * time.Second),
			wantPhase: v1alpha1.FrameworkInactive, wantActive: metav1.ConditionFalse, wantReason: v1alpha1.FrameworkLeaseExpiredReason,
			wantTornDown: metav1.ConditionFalse, wantTasks: 2, wantRequeue: 55 * time.Second, wantActiveLTT: at(35 * time.Second),
		},
		{
			name: "lease deleted: inactive from now", fw: framework(wasActive), tasks: running, now: at(40 * time.Second),
			wantPhase: v1alpha1.FrameworkInactive, wantActive: metav1.ConditionFalse, wantReason: v1alpha1.FrameworkLeaseMissingReason,
			wantTornDown: metav1.ConditionFalse, wantTasks: 2, wantRequeue: time.Minute, wantActiveLTT: at(40 * time.Second),
		},
		{
			name: "lease missing for longer than the failover timeout: torn down, live tasks deleted", fw: framework(inactiveSince(30 * time.Second)), tasks: running, now: at(90 * time.Second),
			wantPhase: v1alpha1.FrameworkTornDown, wantActive: metav1.ConditionFalse, wantReason: v1alpha1.FrameworkLeaseMissingReason,
			wantTornDown: metav1.ConditionTrue, wantTasks: 2, wantDelete: []string{"a", "c"}, wantActiveLTT: at(30 * time.Second),
		},
		{
			name: "torn down is final even if the lease comes back", fw: framework(inactiveSince(30*time.Second), tornDown), lease: lease(ptr(at(100*time.Second)), 15, "me"),
			tasks: []*v1alpha1.Task{task("a", v1alpha1.TaskKilling, true), task("d", v1alpha1.TaskStaging, false)}, now: at(101 * time.Second),
			wantPhase: v1alpha1.FrameworkTornDown, wantActive: metav1.ConditionTrue, wantReason: v1alpha1.FrameworkLeaseHeldReason,
			wantTornDown: metav1.ConditionTrue, wantTasks: 2, wantDelete: []string{"d"}, wantActiveLTT: at(101 * time.Second),
		},
		{
			name: "renewed just before the failover timeout: active again", fw: framework(inactiveSince(30 * time.Second)), lease: lease(ptr(at(89*time.Second)), 15, "me"),
			tasks: running, now: at(89 * time.Second),
			wantPhase: v1alpha1.FrameworkActive, wantActive: metav1.ConditionTrue, wantReason: v1alpha1.FrameworkLeaseHeldReason,
			wantTornDown: metav1.ConditionFalse, wantTasks: 2, wantRequeue: 15 * time.Second, wantActiveLTT: at(89 * time.Second),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := Decide(Input{Framework: tt.fw, Lease: tt.lease, Tasks: tt.tasks, Now: tt.now, Since: t0})
			g.Expect(d.Status.Phase).To(Equal(tt.wantPhase))
			g.Expect(d.Status.Role).To(Equal("team-a"))
			g.Expect(d.Status.ObservedGeneration).To(Equal(int64(3)))
			g.Expect(d.Status.Tasks).To(Equal(tt.wantTasks))
			g.Expect(d.Status.Conditions).To(HaveLen(2))
			active := meta.FindStatusCondition(d.Status.Conditions, v1alpha1.FrameworkActiveCondition)
			g.Expect(active.Status).To(Equal(tt.wantActive))
			g.Expect(active.Reason).To(Equal(tt.wantReason))
			g.Expect(active.ObservedGeneration).To(Equal(int64(3)))
			g.Expect(active.LastTransitionTime.Time).To(BeTemporally("==", tt.wantActiveLTT))
			g.Expect(meta.FindStatusCondition(d.Status.Conditions, v1alpha1.FrameworkTornDownCondition).Status).To(Equal(tt.wantTornDown))
			var deleted []string
			for _, r := range d.Delete {
				deleted = append(deleted, r.Key.Name)
				g.Expect(r.UID).To(Equal(types.UID("uid-" + r.Key.Name)))
			}
			g.Expect(deleted).To(Equal(tt.wantDelete))
			g.Expect(d.AddFinalizer).To(BeFalse())
			g.Expect(d.RemoveFinalizer).To(BeFalse())
			g.Expect(d.RequeueAfter).To(Equal(tt.wantRequeue))
		})
	}
}

func TestDecideFinalizer(t *testing.T) {
	deleted := func() *v1alpha1.Framework {
		fw := framework()
		fw.DeletionTimestamp = ptr(metav1.NewTime(at(time.Second)))
		return fw
	}
	tests := []struct {
		name       string
		fw         *v1alpha1.Framework
		tasks      []*v1alpha1.Task
		wantAdd    bool
		wantDelete []string
		wantRemove bool
	}{
		{name: "added to a framework without it", fw: func() *v1alpha1.Framework { fw := framework(); fw.Finalizers = nil; return fw }(), wantAdd: true},
		{name: "deleted: every task is deleted, terminal ones too", fw: deleted(),
			tasks:      []*v1alpha1.Task{task("a", v1alpha1.TaskRunning, false), task("b", v1alpha1.TaskFinished, false), task("c", v1alpha1.TaskKilling, true)},
			wantDelete: []string{"a", "b"}},
		{name: "deleted: waits for tasks being killed", fw: deleted(), tasks: []*v1alpha1.Task{task("c", v1alpha1.TaskKilling, true)}},
		{name: "deleted: removed once no task is left", fw: deleted(), wantRemove: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d := Decide(Input{Framework: tt.fw, Tasks: tt.tasks, Now: at(2 * time.Second), Since: t0})
			g.Expect(d.AddFinalizer).To(Equal(tt.wantAdd))
			var names []string
			for _, r := range d.Delete {
				names = append(names, r.Key.Name)
			}
			g.Expect(names).To(Equal(tt.wantDelete))
			g.Expect(d.RemoveFinalizer).To(Equal(tt.wantRemove))
		})
	}
}
