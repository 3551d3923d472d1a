package integration

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

// TestFrameworkLifecycle runs the framework lifecycle controller against the
// real master; the test plays the frameworks (renewing their Leases with
// plain API calls, as a shell script with kubectl could) and the agents.
func TestFrameworkLifecycle(t *testing.T) {
	base := startLifecycle(t, 30*time.Second, time.Minute)

	t.Run("the Lease makes a framework active or inactive", func(t *testing.T) {
		g, env := NewWithT(t), base.with(t)
		env.namespace("lease")
		fw := &v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Namespace: "lease", Name: "sched"},
			Spec: v1alpha1.FrameworkSpec{FailoverTimeout: &metav1.Duration{Duration: time.Hour}}}
		g.Expect(env.c.Create(env.ctx(), fw)).To(Succeed())
		expectPhase := func(phase v1alpha1.FrameworkPhase, reason string) {
			t.Helper()
			g.Eventually(func(g Gomega) {
				f := env.getFramework(g, "lease", "sched")
				g.Expect(f.Status.Phase).To(Equal(phase))
				g.Expect(conditionOf(f.Status.Conditions, v1alpha1.FrameworkActiveCondition).Reason).To(Equal(reason))
			}, 15*time.Second, 100*time.Millisecond).Should(Succeed())
		}

		// No Lease yet: inactive, with its role, generation and finalizer.
		expectPhase(v1alpha1.FrameworkInactive, v1alpha1.FrameworkLeaseMissingReason)
		f := env.getFramework(g, "lease", "sched")
		g.Expect(f.Status.Role).To(Equal("lease"))
		g.Expect(f.Status.ObservedGeneration).To(Equal(f.Generation))
		g.Expect(f.Finalizers).To(ContainElement(v1alpha1.FrameworkFinalizer))
		tornDown := conditionOf(f.Status.Conditions, v1alpha1.FrameworkTornDownCondition)
		g.Expect(tornDown.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(tornDown.Reason).To(Equal(v1alpha1.FrameworkFailoverPendingReason))

		// A Lease renewed now, for 2s: active, then inactive when it expires.
		env.renewLease("lease", "sched", 2)
		expectPhase(v1alpha1.FrameworkActive, v1alpha1.FrameworkLeaseHeldReason)
		expectPhase(v1alpha1.FrameworkInactive, v1alpha1.FrameworkLeaseExpiredReason)

		// Renewed again: active; suppressed: Suppressed.
		stop := env.keepRenewing("lease", "sched", 2, 300*time.Millisecond)
		expectPhase(v1alpha1.FrameworkActive, v1alpha1.FrameworkLeaseHeldReason)
		g.Expect(env.c.Patch(env.ctx(), fw, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"suppressed":true}}`)))).To(Succeed())
		expectPhase(v1alpha1.FrameworkSuppressed, v1alpha1.FrameworkLeaseHeldReason)
		g.Eventually(func() int64 { return env.getFramework(g, "lease", "sched").Status.ObservedGeneration }).
			Should(Equal(env.getFramework(g, "lease", "sched").Generation))

		// Tasks: non-terminal ones are counted.
		env.node("node-x")
		env.boundTask("lease", "sched", "t1", "node-x", v1alpha1.TaskRunning)
		env.boundTask("lease", "sched", "t2", "node-x", v1alpha1.TaskFinished)
		env.boundTask("lease", "other", "t3", "node-x", v1alpha1.TaskRunning)
		g.Eventually(func() int32 { return env.getFramework(g, "lease", "sched").Status.Tasks }, 10*time.Second).Should(Equal(int32(1)))

		// Deleting the Lease does not delete the framework: it is inactive.
		stop()
		g.Expect(env.c.Delete(env.ctx(), &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "lease", Name: "sched"}})).To(Succeed())
		expectPhase(v1alpha1.FrameworkInactive, v1alpha1.FrameworkLeaseMissingReason)
		g.Expect(env.getTask(g, "lease", "t1").DeletionTimestamp).To(BeNil(), "an inactive framework's tasks keep running")
	})

	t.Run("a framework away for longer than its failover timeout is torn down", func(t *testing.T) {
		g, env := NewWithT(t), base.with(t)
		env.namespace("failover")
		env.node("fo-node")
		stopAgent := env.fakeAgent("fo-node")
		defer stopAgent()
		fw := &v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Namespace: "failover", Name: "sched"},
			Spec: v1alpha1.FrameworkSpec{FailoverTimeout: &metav1.Duration{Duration: 3 * time.Second}}}
		g.Expect(env.c.Create(env.ctx(), fw)).To(Succeed())
		stop := env.keepRenewing("failover", "sched", 1, 200*time.Millisecond)
		env.renewLease("failover", "sched", 1)
		env.boundTask("failover", "sched", "bound", "fo-node", v1alpha1.TaskRunning)
		env.boundTask("failover", "sched", "unbound", "", "")
		env.boundTask("failover", "sched", "done", "fo-node", v1alpha1.TaskFinished)
		g.Eventually(func(g Gomega) {
			f := env.getFramework(g, "failover", "sched")
			g.Expect(f.Status.Phase).To(Equal(v1alpha1.FrameworkActive))
			g.Expect(f.Status.Tasks).To(Equal(int32(2)))
		}, 15*time.Second, 100*time.Millisecond).Should(Succeed())

		// The framework process dies: inactive after a second, torn down
		// three seconds later; its live tasks are killed.
		stop()
		died := time.Now()
		g.Eventually(func(g Gomega) {
			g.Expect(env.getFramework(g, "failover", "sched").Status.Phase).To(Equal(v1alpha1.FrameworkInactive))
		}, 15*time.Second, 100*time.Millisecond).Should(Succeed())
		g.Eventually(func(g Gomega) {
			f := env.getFramework(g, "failover", "sched")
			g.Expect(f.Status.Phase).To(Equal(v1alpha1.FrameworkTornDown))
			c := conditionOf(f.Status.Conditions, v1alpha1.FrameworkTornDownCondition)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Reason).To(Equal(v1alpha1.FrameworkFailoverTimeoutExpiredReason))
		}, 15*time.Second, 100*time.Millisecond).Should(Succeed())
		t.Logf("Torn down %s after the last renewal (lease 1s + failover 3s)", time.Since(died).Round(100*time.Millisecond))
		for _, name := range []string{"bound", "unbound"} {
			g.Eventually(env.gone(&v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "failover", Name: name}}), 10*time.Second, 100*time.Millisecond).
				Should(BeTrue(), "task %s is killed", name)
		}
		g.Expect(env.getTask(g, "failover", "done").Status.State).To(Equal(v1alpha1.TaskFinished), "terminal tasks stay as records")
		g.Eventually(func() int32 { return env.getFramework(g, "failover", "sched").Status.Tasks }, 10*time.Second).Should(BeZero())

		// A teardown is final: a late renewal does not bring the framework back.
		env.renewLease("failover", "sched", 30)
		g.Eventually(func(g Gomega) {
			f := env.getFramework(g, "failover", "sched")
			g.Expect(conditionOf(f.Status.Conditions, v1alpha1.FrameworkActiveCondition).Status).To(Equal(metav1.ConditionTrue))
			g.Expect(f.Status.Phase).To(Equal(v1alpha1.FrameworkTornDown))
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	})

	t.Run("a deleted framework's tasks go first", func(t *testing.T) {
		g, env := NewWithT(t), base.with(t)
		env.namespace("deletion")
		env.node("del-node")
		fw := &v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Namespace: "deletion", Name: "sched"}}
		g.Expect(env.c.Create(env.ctx(), fw)).To(Succeed())
		env.boundTask("deletion", "sched", "running", "del-node", v1alpha1.TaskRunning)
		env.boundTask("deletion", "sched", "finished", "del-node", v1alpha1.TaskFinished)
		env.boundTask("deletion", "someone-else", "other", "del-node", v1alpha1.TaskRunning)
		g.Eventually(func() []string { return env.getFramework(g, "deletion", "sched").Finalizers }, 10*time.Second).
			Should(ContainElement(v1alpha1.FrameworkFinalizer))

		g.Expect(env.c.Delete(env.ctx(), fw)).To(Succeed())
		// Its tasks are deleted, and the framework waits for their agent.
		g.Eventually(func(g Gomega) {
			g.Expect(env.getTask(g, "deletion", "running").DeletionTimestamp).NotTo(BeNil())
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
		g.Consistently(env.gone(fw), time.Second, 100*time.Millisecond).Should(BeFalse())

		stopAgent := env.fakeAgent("del-node")
		defer stopAgent()
		g.Eventually(env.gone(fw), 10*time.Second, 100*time.Millisecond).Should(BeTrue())
		for _, name := range []string{"running", "finished"} {
			g.Expect(env.gone(&v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "deletion", Name: name}})()).To(BeTrue())
		}
		g.Expect(env.getTask(g, "deletion", "other").DeletionTimestamp).To(BeNil(), "another framework's task is left alone")
	})
}

// TestRoleStatus checks the frameworks count and the ParentExists condition
// of Roles.
func TestRoleStatus(t *testing.T) {
	env := startLifecycle(t, 30*time.Second, time.Minute)
	g := NewWithT(t)
	for _, name := range []string{"eng", "eng.web", "ops.db"} {
		g.Expect(env.c.Create(env.ctx(), &v1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}})).To(Succeed())
	}
	env.namespace("eng")
	env.namespace("web")
	g.Expect(env.c.Create(env.ctx(), &v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Namespace: "eng", Name: "a"}})).To(Succeed())
	g.Expect(env.c.Create(env.ctx(), &v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Namespace: "eng", Name: "b"}})).To(Succeed())
	webFw := &v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "c"}, Spec: v1alpha1.FrameworkSpec{Role: "eng.web"}}
	g.Expect(env.c.Create(env.ctx(), webFw)).To(Succeed())

	role := func(g Gomega, name string) *v1alpha1.Role {
		r := &v1alpha1.Role{}
		g.Expect(env.c.Get(env.ctx(), types.NamespacedName{Name: name}, r)).To(Succeed())
		return r
	}
	expect := func(name string, frameworks int32, parent metav1.ConditionStatus, reason string) {
		t.Helper()
		g.Eventually(func(g Gomega) {
			r := role(g, name)
			g.Expect(r.Status.Frameworks).To(Equal(frameworks))
			c := conditionOf(r.Status.Conditions, v1alpha1.RoleParentExistsCondition)
			g.Expect(c.Status).To(Equal(parent))
			g.Expect(c.Reason).To(Equal(reason))
		}, 15*time.Second, 100*time.Millisecond).Should(Succeed())
	}
	expect("eng", 2, metav1.ConditionTrue, v1alpha1.RoleTopLevelReason)
	expect("eng.web", 1, metav1.ConditionTrue, v1alpha1.RoleParentFoundReason)
	expect("ops.db", 0, metav1.ConditionFalse, v1alpha1.RoleParentMissingReason)

	// The parent appears; a framework goes.
	g.Expect(env.c.Create(env.ctx(), &v1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: "ops"}})).To(Succeed())
	expect("ops.db", 0, metav1.ConditionTrue, v1alpha1.RoleParentFoundReason)
	g.Expect(env.c.Delete(env.ctx(), webFw)).To(Succeed())
	expect("eng.web", 0, metav1.ConditionTrue, v1alpha1.RoleParentFoundReason)
	g.Expect(env.c.Delete(env.ctx(), &v1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: "eng"}})).To(Succeed())
	expect("eng.web", 0, metav1.ConditionFalse, v1alpha1.RoleParentMissingReason)
}
