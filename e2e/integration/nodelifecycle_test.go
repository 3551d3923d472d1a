package integration

import (
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/apis/v1alpha1"
)

// TestNodeLifecycle runs the node lifecycle controller against the real
// master with a node timeout of 2s and a gone timeout of 5s; the test plays
// the agents, renewing their Leases and writing task status.
func TestNodeLifecycle(t *testing.T) {
	base := startLifecycle(t, 2*time.Second, 5*time.Second)
	base.namespace("team-a")

	t.Run("silent node turns unreachable, then gone", func(t *testing.T) {
		g, env := NewWithT(t), base.with(t)
		env.node("silent")
		env.boundTask("team-a", "fw", "silent-run", "silent", v1alpha1.TaskRunning)
		env.boundTask("team-a", "fw", "silent-done", "silent", v1alpha1.TaskFinished)
		env.boundTask("team-a", "fw", "silent-kill", "silent", v1alpha1.TaskRunning)
		start := time.Now()

		g.Eventually(func(g Gomega) {
			n := env.getNode(g, "silent")
			g.Expect(n.Status.Phase).To(Equal(v1alpha1.NodeUnreachable))
			ready := conditionOf(n.Status.Conditions, v1alpha1.NodeReadyCondition)
			g.Expect(ready.Status).To(Equal(metav1.ConditionUnknown))
			g.Expect(ready.Reason).To(Equal(v1alpha1.NodeAgentUnreachableReason))
			run := env.getTask(g, "team-a", "silent-run")
			g.Expect(run.Status.State).To(Equal(v1alpha1.TaskUnreachable))
			g.Expect(run.Status.Reason).To(Equal(v1alpha1.ReasonAgentDisconnected))
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
		t.Logf("Unreachable %s after the last heartbeat", time.Since(start).Round(100*time.Millisecond))
		g.Expect(env.getTask(g, "team-a", "silent-done").Status.State).To(Equal(v1alpha1.TaskFinished), "terminal states are final")

		// A task deleted while its agent is away waits for the agent...
		kill := env.getTask(g, "team-a", "silent-kill")
		g.Expect(env.c.Delete(env.ctx(), kill)).To(Succeed())
		g.Consistently(env.gone(kill), time.Second, 200*time.Millisecond).Should(BeFalse())

		g.Eventually(func(g Gomega) {
			n := env.getNode(g, "silent")
			g.Expect(n.Status.Phase).To(Equal(v1alpha1.NodeGone))
			ready := conditionOf(n.Status.Conditions, v1alpha1.NodeReadyCondition)
			g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(ready.Reason).To(Equal(v1alpha1.NodeAgentGoneReason))
			run := env.getTask(g, "team-a", "silent-run")
			g.Expect(run.Status.State).To(Equal(v1alpha1.TaskGone))
			g.Expect(run.Status.Reason).To(Equal(v1alpha1.ReasonAgentRemoved))
			g.Expect(run.Status.FinishedAt).NotTo(BeNil())
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())
		t.Logf("Gone %s after the last heartbeat", time.Since(start).Round(100*time.Millisecond))
		// ...until the node is gone: then the master releases it.
		g.Eventually(env.gone(kill), 10*time.Second, 100*time.Millisecond).Should(BeTrue())
		g.Expect(env.getTask(g, "team-a", "silent-done").Status.State).To(Equal(v1alpha1.TaskFinished))
	})

	t.Run("node that returns before it is gone is ready again", func(t *testing.T) {
		g, env := NewWithT(t), base.with(t)
		env.node("flaky")
		env.boundTask("team-a", "fw", "flaky-run", "flaky", v1alpha1.TaskRunning)
		g.Eventually(func(g Gomega) {
			g.Expect(env.getNode(g, "flaky").Status.Phase).To(Equal(v1alpha1.NodeUnreachable))
			g.Expect(env.getTask(g, "team-a", "flaky-run").Status.State).To(Equal(v1alpha1.TaskUnreachable))
		}, 20*time.Second, 100*time.Millisecond).Should(Succeed())

		// The agent comes back: it renews its Lease and reports its task.
		env.renewNode("flaky")
		stop := env.keepRenewing("meseta-system", "flaky", 40, 300*time.Millisecond)
		defer stop()
		g.Eventually(func(g Gomega) {
			n := env.getNode(g, "flaky")
			g.Expect(n.Status.Phase).To(Equal(v1alpha1.NodeReady))
			ready := conditionOf(n.Status.Conditions, v1alpha1.NodeReadyCondition)
			g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(ready.Reason).To(Equal(v1alpha1.NodeAgentReconnectedReason))
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
		g.Expect(env.setTaskState(types.NamespacedName{Namespace: "team-a", Name: "flaky-run"}, v1alpha1.TaskRunning)).
			To(Succeed(), "the API lets an Unreachable task run again")

		// Past the gone deadline, the node stays ready and its task running.
		g.Consistently(func(g Gomega) {
			g.Expect(env.getNode(g, "flaky").Status.Phase).To(Equal(v1alpha1.NodeReady))
			g.Expect(env.getTask(g, "team-a", "flaky-run").Status.State).To(Equal(v1alpha1.TaskRunning))
		}, 6*time.Second, 200*time.Millisecond).Should(Succeed())
	})

	t.Run("drain kills the node's tasks, and mesetactl waits for it", func(t *testing.T) {
		g, env := NewWithT(t), base.with(t)
		env.node("busy")
		stopAgent := env.fakeAgent("busy")
		defer stopAgent()
		env.boundTask("team-a", "fw", "busy-1", "busy", v1alpha1.TaskRunning)
		env.boundTask("team-a", "fw", "busy-2", "busy", v1alpha1.TaskStarting)
		env.boundTask("team-a", "fw", "busy-done", "busy", v1alpha1.TaskFailed)
		g.Eventually(func(g Gomega) {
			g.Expect(env.getNode(g, "busy").Status.Phase).To(Equal(v1alpha1.NodeReady))
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())

		out, err := mesetactl(t, env.m.KubeconfigPath, "drain", "busy", "--grace-period", "5s", "--timeout", "30s")
		t.Logf("mesetactl drain:\n%s", out)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(ContainSubstring("node/busy cordoned and draining"))
		g.Expect(out).To(ContainSubstring("node/busy drained"))

		n := env.getNode(g, "busy")
		g.Expect(n.Spec.Unschedulable).To(BeTrue())
		g.Expect(n.Spec.Drain).NotTo(BeNil())
		g.Expect(n.Spec.Drain.GracePeriod.Duration).To(Equal(5 * time.Second))
		g.Expect(n.Spec.Drain.RequestedAt).NotTo(BeNil())
		g.Eventually(func(g Gomega) {
			n := env.getNode(g, "busy")
			g.Expect(n.Status.Phase).To(Equal(v1alpha1.NodeDrained))
			drained := conditionOf(n.Status.Conditions, v1alpha1.NodeDrainedCondition)
			g.Expect(drained.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(drained.Reason).To(Equal(v1alpha1.NodeDrainCompleteReason))
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
		g.Expect(env.gone(&v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "busy-1"}})()).To(BeTrue())
		g.Expect(env.getTask(g, "team-a", "busy-done").Status.State).To(Equal(v1alpha1.TaskFailed), "terminal tasks stay as records")

		// Uncordoning ends the drain.
		_, err = mesetactl(t, env.m.KubeconfigPath, "uncordon", "busy")
		g.Expect(err).NotTo(HaveOccurred())
		g.Eventually(func(g Gomega) {
			n := env.getNode(g, "busy")
			g.Expect(n.Status.Phase).To(Equal(v1alpha1.NodeReady))
			g.Expect(conditionOf(n.Status.Conditions, v1alpha1.NodeDrainedCondition).Type).To(BeEmpty())
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	})

	t.Run("drain times out with a clear error while tasks stay", func(t *testing.T) {
		g, env := NewWithT(t), base.with(t)
		env.node("stuck")
		stop := env.keepRenewing("meseta-system", "stuck", 40, 300*time.Millisecond)
		defer stop()
		// No agent kills the task: it stays Running behind its finalizer.
		env.boundTask("team-a", "fw", "stuck-1", "stuck", v1alpha1.TaskRunning)
		out, err := mesetactl(t, env.m.KubeconfigPath, "drain", "stuck", "--timeout", "2s")
		t.Logf("mesetactl drain:\n%s", out)
		g.Expect(err).To(HaveOccurred())
		g.Expect(err.Error()).To(ContainSubstring("timed out after 2s waiting for node stuck to drain: 1 task left: team-a/stuck-1 (Running)"))
		g.Expect(out).To(ContainSubstring("node/stuck: 1 task left: team-a/stuck-1 (Running)"))
		g.Expect(env.getNode(g, "stuck").Status.Phase).To(Equal(v1alpha1.NodeDraining))
		g.Expect(env.getTask(g, "team-a", "stuck-1").DeletionTimestamp).NotTo(BeNil(), "the drain asked for the kill")

		_, err = mesetactl(t, env.m.KubeconfigPath, "drain", "missing-node")
		g.Expect(err).To(MatchError(ContainSubstring("node missing-node not found")))
	})

	t.Run("removing a node makes its tasks gone", func(t *testing.T) {
		g, env := NewWithT(t), base.with(t)
		env.node("removed")
		env.boundTask("team-a", "fw", "removed-1", "removed", v1alpha1.TaskRunning)
		g.Expect(env.c.Delete(env.ctx(), &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: "removed"}})).To(Succeed())
		g.Eventually(func(g Gomega) {
			task := env.getTask(g, "team-a", "removed-1")
			g.Expect(task.Status.State).To(Equal(v1alpha1.TaskGone))
			g.Expect(task.Status.Reason).To(Equal(v1alpha1.ReasonAgentRemoved))
			g.Expect(strings.Contains(task.Status.Message, "removed")).To(BeTrue())
		}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	})
}
