package faults

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

// TestDrain drains a node with `mesetactl drain`: its tasks are killed within
// the grace period with reason AgentDrained, the framework relaunches them on
// the other nodes, the node ends Drained with no container left, and
// uncordon makes it usable again.
func TestDrain(t *testing.T) {
	c := newCluster(t, "drain", clusterOptions{agents: threeAgents})
	c.drain(c.keeperWorkload(4))
}

// TestAppDrain drains a node running an instance of an App (one instance on
// each of three of four nodes): the instance is killed within its grace
// period with reason AgentDrained and the App relaunches it on the free node,
// back to its instance count.
func TestAppDrain(t *testing.T) {
	c := newCluster(t, "app-drain", clusterOptions{agents: fourAgents})
	c.drain(c.appWorkload("web", 3))
}

// drain waits until the workload runs, drains the node of its first task with
// `mesetactl drain`, and checks that the node's tasks were killed within
// their grace periods to drain it, that the workload runs in full on the other
// nodes, and that uncordon makes the node usable again. Then it checks the
// history.
func (c *cluster) drain(w workload) {
	t := c.t
	g := NewWithT(t)
	running := c.wait(w, 2*time.Minute)
	victim := running[0].Spec.NodeName
	drained := uids(onNode(running, victim))

	start := time.Now()
	out, err := c.mesetactl("drain", victim, "--grace-period", "5s", "--timeout", "60s")
	g.Expect(err).NotTo(HaveOccurred(), out)
	c.fig.log("drain-command", time.Since(start))
	g.Expect(time.Since(start)).To(BeNumerically("<", 30*time.Second), "the tasks stop within their grace periods")
	for _, task := range c.tasks(t.Context(), c.client(), w.sel.ns) {
		if drained[task.UID] {
			g.Expect(task.Status.State).To(Equal(v1alpha1.TaskKilled), task.Name)
			g.Expect(task.Status.Reason).To(Equal(v1alpha1.ReasonAgentDrained), "%s: %s", task.Name, task.Status.Message)
		}
	}
	stopped := c.lastTaskEvent(start, func(t *v1alpha1.Task) bool { return drained[t.UID] && t.IsTerminal() })
	c.fig.log("drained-tasks-killed", stopped.Sub(start))
	c.noContainersOf(drained, 10*time.Second)
	g.Eventually(func() v1alpha1.NodePhase {
		n := &v1alpha1.Node{}
		_ = c.client().Get(t.Context(), client.ObjectKey{Name: victim}, n)
		return n.Status.Phase
	}).WithTimeout(30 * time.Second).Should(Equal(v1alpha1.NodeDrained))
	before := uids(running)
	c.wait(w, time.Minute, victim)
	moved := c.lastTaskEvent(start, func(t *v1alpha1.Task) bool {
		return w.sel.owns(t) && !before[t.UID] && t.Status.State == v1alpha1.TaskRunning
	})
	c.fig.log("relaunched-off-drained-node", moved.Sub(start))

	out, err = c.mesetactl("uncordon", victim)
	g.Expect(err).NotTo(HaveOccurred(), out)
	c.waitNodeReady(victim, 30*time.Second)
	c.checkAccounting(30 * time.Second)
	c.checkHistory(time.Minute)
}
