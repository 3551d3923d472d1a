package faults

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// TestLeaderKilled runs three masters as one embedded etcd cluster and
// SIGKILLs the leader while a framework's tasks run: another master takes the
// controllers over, the tasks run on untouched, and new work (a Job) is
// scheduled. It reports the failover time.
func TestLeaderKilled(t *testing.T) {
	g := NewWithT(t)
	c := newCluster(t, "leader-killed", clusterOptions{masters: 3, agents: threeAgents[:2]})
	leader := c.leader(time.Minute)
	c.logf("master %s leads; clients use %s", c.masters[leader].name, c.masters[c.current].name)
	c.startKeeper(keeperOptions{name: "keeper", namespace: "default", instances: 3, failover: 10 * time.Minute})
	c.waitRunning("default", "keeper", 3, 2*time.Minute)
	before := c.taskUIDsOf("keeper")

	killed := time.Now()
	c.killMaster(leader)
	next := c.leader(2 * time.Minute)
	c.fig.log("leader-failover", time.Since(killed))
	c.logf("master %s leads now", c.masters[next].name)

	c.apply(c.jobYAML("after-failover", 2, 2, 1))
	c.waitJobComplete("after-failover", 2, 2*time.Minute)
	c.fig.log("job-complete-after-kill", time.Since(killed))
	c.waitRunning("default", "keeper", 3, time.Minute)
	g.Expect(c.taskUIDsOf("keeper")).To(Equal(before), "the framework's tasks ran on untouched")
	c.checkAccounting(30 * time.Second)
	c.checkHistory(time.Minute)
}

// TestMasterStopsWithoutQuorum runs three masters as one embedded etcd
// cluster, SIGKILLs two of them so that the third's etcd member loses its
// quorum, and sends the survivor, the leader, SIGTERM: it exits within 60s,
// though nothing it writes on its way out (its leader Lease, its last
// statuses) can be committed.
func TestMasterStopsWithoutQuorum(t *testing.T) {
	c := newCluster(t, "master-without-quorum", clusterOptions{masters: 3, agents: threeAgents[:1]})
	leader := c.leader(time.Minute)
	c.startKeeper(keeperOptions{name: "keeper", namespace: "default", instances: 2, failover: 10 * time.Minute})
	c.waitRunning("default", "keeper", 2, 2*time.Minute)
	c.stopBackground()
	c.killKeepers()
	for i := range c.masters {
		if i != leader {
			c.killMaster(i)
		}
	}
	time.Sleep(2 * time.Second) // the survivor notices that its peers are gone
	start := time.Now()
	if err := c.masters[leader].proc.stop(60 * time.Second); err != nil {
		t.Fatalf("%v:\n%s", err, c.masters[leader].proc.tail(8000))
	}
	c.fig.log("sigterm-exit-without-quorum", time.Since(start))
}
