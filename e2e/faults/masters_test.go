package faults

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
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

// TestLeaderLeaseLost takes the leader Lease away from the leading master
// (another holder renews it for a while, as a master cut off from it would
// see): the leader stops its controllers, as it must, but keeps running and
// serving the API, and campaigns again; once the intruder stops, a master
// leads again and new work (a Job) is scheduled. No master exits.
func TestLeaderLeaseLost(t *testing.T) {
	g := NewWithT(t)
	c := newCluster(t, "leader-lease-lost", clusterOptions{masters: 3, agents: threeAgents[:1]})
	leader := c.leader(time.Minute)
	c.logf("master %s leads", c.masters[leader].name)

	key := client.ObjectKey{Namespace: "meseta-system", Name: "meseta-controller-manager"}
	intruder, leaseSeconds := "intruder", int32(4)
	start := time.Now()
	for time.Since(start) < 8*time.Second { // twice the masters' 4s Lease
		lease := &coordinationv1.Lease{}
		if err := c.client().Get(t.Context(), key, lease); err == nil {
			now := metav1.NewMicroTime(time.Now())
			lease.Spec.HolderIdentity, lease.Spec.RenewTime, lease.Spec.LeaseDurationSeconds = &intruder, &now, &leaseSeconds
			_ = c.client().Update(t.Context(), lease)
		}
		time.Sleep(300 * time.Millisecond)
	}
	g.Eventually(func() string {
		lease := &coordinationv1.Lease{}
		if err := c.client().Get(t.Context(), key, lease); err != nil || lease.Spec.HolderIdentity == nil {
			return ""
		}
		return *lease.Spec.HolderIdentity
	}).WithTimeout(time.Minute).WithPolling(200*time.Millisecond).ShouldNot(Or(BeEmpty(), Equal(intruder)),
		"a master takes the Lease back")
	c.fig.log("leader-back-after-intruder", time.Since(start))
	for _, m := range c.masters {
		g.Expect(m.proc.exited()).To(BeFalse(), "master %s exited after losing the Lease:\n%s", m.name, m.proc.tail(4000))
	}
	c.apply(c.jobYAML("after-lease-lost", 2, 2, 1))
	c.waitJobComplete("after-lease-lost", 2, 2*time.Minute)
	c.fig.log("job-complete-after-lease-lost", time.Since(start))
	c.checkAccounting(30 * time.Second)
	c.checkHistory(time.Minute)
}
