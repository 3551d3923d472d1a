package faults

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

// TestDrain drains a node with `mesetactl drain`: its tasks are killed within
// the grace period, the framework relaunches them on the other nodes, the node
// ends Drained with no container left, and uncordon makes it usable again.
func TestDrain(t *testing.T) {
	g := NewWithT(t)
	c := newCluster(t, "drain", clusterOptions{agents: threeAgents})
	c.startKeeper(keeperOptions{name: "keeper", namespace: "default", instances: 4, failover: 10 * time.Minute})
	running := c.waitRunning("default", "keeper", 4, 2*time.Minute)
	victim := running[0].Spec.NodeName
	drained := uids(onNode(running, victim))

	start := time.Now()
	out, err := c.mesetactl("drain", victim, "--grace-period", "5s", "--timeout", "60s")
	g.Expect(err).NotTo(HaveOccurred(), out)
	c.fig.log("drain-command", time.Since(start))
	g.Expect(time.Since(start)).To(BeNumerically("<", 30*time.Second), "the tasks stop within their grace periods")
	for _, task := range c.tasks(t.Context(), c.client(), "default") {
		if drained[task.UID] {
			g.Expect(task.Status.State).To(Equal(v1alpha1.TaskKilled), task.Name)
			// The node lifecycle drains by deleting the tasks, so the agent
			// reports KillRequested; AgentDrained would say more.
			g.Expect(task.Status.Reason).To(BeElementOf(v1alpha1.ReasonAgentDrained, v1alpha1.ReasonKillRequested), task.Name)
		}
	}
	c.noContainersOf(drained, 10*time.Second)
	g.Eventually(func() v1alpha1.NodePhase {
		n := &v1alpha1.Node{}
		_ = c.client().Get(t.Context(), client.ObjectKey{Name: victim}, n)
		return n.Status.Phase
	}).WithTimeout(30 * time.Second).Should(Equal(v1alpha1.NodeDrained))
	c.waitRunning("default", "keeper", 4, time.Minute, victim)
	c.fig.log("relaunched-off-drained-node", time.Since(start))

	out, err = c.mesetactl("uncordon", victim)
	g.Expect(err).NotTo(HaveOccurred(), out)
	c.waitNodeReady(victim, 30*time.Second)
	c.checkAccounting(30 * time.Second)
	c.checkHistory(time.Minute)
}
