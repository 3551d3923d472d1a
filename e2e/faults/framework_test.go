package faults

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

// TestFrameworkFailover SIGKILLs a framework's process twice. Restarted within
// its failoverTimeout, the framework resumes: the same tasks run on and
// nothing is launched again. Left dead past it, the master tears it down: its
// tasks are killed and its offers rescinded.
func TestFrameworkFailover(t *testing.T) {
	g := NewWithT(t)
	const failover = 10 * time.Second
	c := newCluster(t, "framework-failover", clusterOptions{agents: threeAgents[:2]})
	opts := keeperOptions{name: "keeper", namespace: "default", instances: 3, failover: failover}
	fwProc := c.startKeeper(opts)
	tasks := c.waitRunning("default", "keeper", 3, 2*time.Minute)
	phase := func() v1alpha1.FrameworkPhase {
		fw := &v1alpha1.Framework{}
		if err := c.client().Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "keeper"}, fw); err != nil {
			return "(" + v1alpha1.FrameworkPhase(err.Error()) + ")"
		}
		return fw.Status.Phase
	}

	// Killed and restarted before the failover timeout: it resumes.
	before := c.taskUIDsOf("keeper")
	died := time.Now()
	fwProc.kill()
	g.Eventually(phase).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Equal(v1alpha1.FrameworkInactive))
	c.fig.log("framework-inactive-after-death", time.Since(died))
	c.startKeeper(opts)
	g.Eventually(phase).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Equal(v1alpha1.FrameworkActive))
	c.fig.log("framework-resumed-after-death", time.Since(died))
	g.Consistently(func() []string {
		var names []string
		for _, t := range c.live("default", "keeper") {
			names = append(names, t.Name+"/"+string(t.Status.State))
		}
		return names
	}).WithTimeout(3 * time.Second).Should(Equal([]string{
		tasks[0].Name + "/Running", tasks[1].Name + "/Running", tasks[2].Name + "/Running"}))
	g.Expect(c.taskUIDsOf("keeper")).To(Equal(before), "the resumed framework launched nothing new")

	// Killed for good: torn down after the failover timeout.
	died = time.Now()
	c.killKeepers()
	g.Eventually(func() []v1alpha1.TaskState {
		var states []v1alpha1.TaskState
		for _, t := range c.tasks(t.Context(), c.client(), "default") {
			if t.Spec.Framework == "keeper" {
				states = append(states, t.Status.State)
			}
		}
		return states
	}).WithTimeout(2 * time.Minute).WithPolling(200 * time.Millisecond).Should(Or(BeEmpty(), HaveEach(v1alpha1.TaskKilled)))
	tornDown := time.Since(died)
	g.Expect(tornDown).To(BeNumerically(">=", failover), "nothing is torn down before the failover timeout")
	c.fig.log("teardown-after-death", tornDown)
	c.noContainersOf(uids(tasks), 30*time.Second)
	offers := &v1alpha1.OfferList{}
	g.Expect(c.client().List(t.Context(), offers, client.InNamespace("default"))).To(Succeed())
	for _, o := range offers.Items {
		if o.Spec.Framework == "keeper" {
			g.Expect(o.Status.Phase.IsFinal()).To(BeTrue(), "offer %s of the torn-down framework is %s", o.Name, o.Status.Phase)
		}
	}
	// Nothing the torn-down framework held is lost: a new framework gets the
	// whole cluster.
	c.startKeeper(keeperOptions{name: "successor", namespace: "default", instances: 8, failover: time.Minute})
	c.waitRunning("default", "successor", 8, time.Minute)
	c.checkAccounting(30 * time.Second)
	c.checkHistory(time.Minute)
}
