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
	g := NewWithT(t)
	c := newCluster(t, "agent-killed", clusterOptions{agents: threeAgents})
	c.startKeeper(keeperOptions{name: "keeper", namespace: "default", instances: 4, failover: 10 * time.Minute})
	running := c.waitRunning("default", "keeper", 4, 2*time.Minute)

	victim := running[0].Spec.NodeName
	stale := onNode(running, victim)
	staleIDs := uids(stale)
	a := c.agentNamed(victim)
	killed := time.Now()
	a.kill()

	// The node's tasks turn Unreachable after the node timeout.
	g.Eventually(func() []v1alpha1.TaskState {
		var states []v1alpha1.TaskState
		for _, t := range c.tasks(t.Context(), c.client(), "default") {
			if staleIDs[t.UID] {
				states = append(states, t.Status.State)
			}
		}
		return states
	}).WithTimeout(time.Minute).WithPolling(100*time.Millisecond).Should(HaveEach(v1alpha1.TaskUnreachable))
	unreachable, _ := c.firstTaskEvent(killed, func(t *v1alpha1.Task) bool {
		return staleIDs[t.UID] && t.Status.State == v1alpha1.TaskUnreachable
	})
	c.fig.log("time-to-unreachable", unreachable.Sub(killed))

	// The framework relaunches them on the other nodes.
	c.waitRunning("default", "keeper", 4, time.Minute, victim)
	relaunched := c.lastTaskEvent(killed, func(t *v1alpha1.Task) bool {
		return !staleIDs[t.UID] && t.Status.State == v1alpha1.TaskRunning && t.Spec.NodeName != victim
	})
	c.fig.log("relaunch-after-kill", relaunched.Sub(killed))
	c.fig.log("relaunch-after-unreachable", relaunched.Sub(unreachable))

	// The agent returns: the replaced tasks' containers are stopped.
	back := time.Now()
	a.start()
	c.waitNodeReady(victim, time.Minute)
	gone := c.noContainersOf(staleIDs, time.Minute)
	c.fig.log("stale-containers-stopped-after-return", gone.Sub(back))
	g.Eventually(func() int {
		n := 0
		for _, t := range c.tasks(t.Context(), c.client(), "default") {
			if staleIDs[t.UID] {
				n++
			}
		}
		return n
	}).WithTimeout(time.Minute).Should(BeZero(), "the killed tasks' objects are removed once their agent reported them")
	c.waitRunning("default", "keeper", 4, time.Minute)
	c.checkHistory(time.Minute)
}
