package faults

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/apis/v1alpha1"
)

// TestAgentKilled SIGKILLs the agent of a node running a framework's tasks:
// they turn Unreachable after the node timeout, the framework relaunches them
// elsewhere and kills the old ones, and when the agent comes back on its work
// dir it stops their stale containers. Nothing runs twice.
func TestAgentKilled(t *testing.T) {
	c := newCluster(t, "agent-killed", clusterOptions{agents: threeAgents})
	c.loseNode(c.keeperWorkload(4), func(a *agent) { a.kill() }, func(a *agent) { a.start() })
}

// TestAppAgentKilled is TestAgentKilled for an App of the built-in apps
// framework, one instance on each of three of four nodes: the App kills the
// Unreachable instance and relaunches it on the free node, back to its
// instance count, and the returning agent stops the stale container.
func TestAppAgentKilled(t *testing.T) {
	c := newCluster(t, "app-agent-killed", clusterOptions{agents: fourAgents})
	c.loseNode(c.appWorkload("web", 3), func(a *agent) { a.kill() }, func(a *agent) { a.start() })
}

// TestAgentPartitioned cuts a node's agent off the master through the network
// (its namespace's veth taken down) while it and its containers keep running,
// then heals the partition: the same as a killed agent, through the network.
func TestAgentPartitioned(t *testing.T) {
	c := newCluster(t, "agent-partitioned", clusterOptions{agents: threeAgents, netns: true})
	index := func(a *agent) int {
		for i := range c.agents {
			if c.agents[i] == a {
				return i
			}
		}
		return -1
	}
	c.loseNode(c.keeperWorkload(4), func(a *agent) { c.net.partition(index(a)); c.logf("partitioned %s", a.node) },
		func(a *agent) { c.net.heal(index(a)); c.logf("healed %s", a.node) })
}

// loseNode waits until the workload runs, loses the node of one of its
// instances (lose), waits until its tasks are Unreachable and relaunched
// elsewhere, gets it back (regain), and waits until the replaced tasks'
// containers are stopped and their objects gone; rounds() times. Then it
// checks the history.
func (c *cluster) loseNode(w workload, lose, regain func(a *agent)) {
	for round := range rounds() {
		c.logf("round %d", round+1)
		c.loseNodeOnce(w, lose, regain)
	}
	c.checkHistory(time.Minute)
}

// loseNodeOnce is one round of loseNode.
func (c *cluster) loseNodeOnce(w workload, lose, regain func(a *agent)) {
	t := c.t
	g := NewWithT(t)
	running := c.wait(w, 2*time.Minute)
	victim := running[round(len(running))].Spec.NodeName
	staleIDs := uids(onNode(running, victim))
	a := c.agentNamed(victim)
	lost := time.Now()
	lose(a)

	// The node's tasks turn Unreachable after the node timeout.
	g.Eventually(func() []v1alpha1.TaskState {
		var states []v1alpha1.TaskState
		for _, t := range c.tasks(t.Context(), c.client(), w.sel.ns) {
			if staleIDs[t.UID] {
				states = append(states, t.Status.State)
			}
		}
		return states
	}).WithTimeout(time.Minute).WithPolling(100 * time.Millisecond).Should(HaveEach(v1alpha1.TaskUnreachable))
	unreachable, _ := c.firstTaskEvent(lost, func(t *v1alpha1.Task) bool {
		return staleIDs[t.UID] && t.Status.State == v1alpha1.TaskUnreachable
	})
	c.fig.log("time-to-unreachable", unreachable.Sub(lost))

	// The workload relaunches them on the other nodes.
	c.wait(w, time.Minute, victim)
	before := uids(running)
	relaunched := c.lastTaskEvent(lost, func(t *v1alpha1.Task) bool {
		return w.sel.owns(t) && !before[t.UID] && t.Status.State == v1alpha1.TaskRunning && t.Spec.NodeName != victim
	})
	c.fig.log("relaunch-after-loss", relaunched.Sub(lost))
	c.fig.log("relaunch-after-unreachable", relaunched.Sub(unreachable))

	// The node returns: the replaced tasks' containers are stopped and their
	// objects removed once the agent has reported them.
	back := time.Now()
	regain(a)
	c.waitNodeReady(victim, time.Minute)
	gone := c.noContainersOf(staleIDs, time.Minute)
	c.fig.log("stale-containers-stopped-after-return", gone.Sub(back))
	g.Eventually(func() int {
		n := 0
		for _, t := range c.tasks(t.Context(), c.client(), w.sel.ns) {
			if staleIDs[t.UID] {
				n++
			}
		}
		return n
	}).WithTimeout(time.Minute).Should(BeZero(), "the killed tasks' objects are removed once their agent reported them")
	c.wait(w, time.Minute)
}
