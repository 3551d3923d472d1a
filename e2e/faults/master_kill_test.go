package faults

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
)

// jobYAML is a Job of short tasks in namespace default.
func (c *cluster) jobYAML(name string, completions, parallelism int, seconds int) string {
	return fmt.Sprintf(`apiVersion: meseta.dev/v1alpha1
kind: Job
metadata: {name: %s, namespace: default}
spec:
  completions: %d
  parallelism: %d
  backoffLimit: 0
  template:
    resources: {cpus: "0.25", mem: 32Mi}
    killGracePeriod: 1s
    container: {image: "%s", command: [sh, -c, "sleep %d"]}
`, name, completions, parallelism, c.image(), seconds)
}

// waitJobComplete waits until Job name succeeded completions times without a
// failure, and returns when it completed.
func (c *cluster) waitJobComplete(name string, completions int32, timeout time.Duration) {
	c.t.Helper()
	NewWithT(c.t).Eventually(func(g Gomega) {
		job := &v1alpha1.Job{}
		g.Expect(c.client().Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, job)).To(Succeed())
		g.Expect(job.Status.Failed).To(BeZero())
		g.Expect(job.Status.Succeeded).To(Equal(completions))
	}).WithTimeout(timeout).WithPolling(200 * time.Millisecond).Should(Succeed())
}

// checkAccounting waits until every node's status.offered is the sum of its
// outstanding offers and status.allocated that of its non-terminal tasks: the
// master leaked nothing.
func (c *cluster) checkAccounting(timeout time.Duration) {
	c.t.Helper()
	NewWithT(c.t).Eventually(func(g Gomega) {
		ctx := context.Background()
		cl := c.client()
		nodes, offers, tasks := &v1alpha1.NodeList{}, &v1alpha1.OfferList{}, &v1alpha1.TaskList{}
		g.Expect(cl.List(ctx, nodes)).To(Succeed())
		g.Expect(cl.List(ctx, offers)).To(Succeed())
		g.Expect(cl.List(ctx, tasks)).To(Succeed())
		offered, allocated := map[string]resources.Vector{}, map[string]resources.Vector{}
		seen := map[string][]string{}
		for _, o := range offers.Items {
			seen[o.Spec.NodeName] = append(seen[o.Spec.NodeName], o.Namespace+"/"+o.Name+":"+string(o.Status.Phase))
			if !o.Status.Phase.IsFinal() {
				v, _ := resources.FromAPI(o.Spec.Resources)
				offered[o.Spec.NodeName] = offered[o.Spec.NodeName].Add(v)
			}
		}
		for _, t := range tasks.Items {
			if t.Spec.NodeName != "" && !t.IsTerminal() {
				v, _ := resources.FromAPI(t.Spec.Resources)
				allocated[t.Spec.NodeName] = allocated[t.Spec.NodeName].Add(v)
			}
		}
		for _, n := range nodes.Items {
			o, _ := resources.FromAPI(n.Status.Offered)
			a, _ := resources.FromAPI(n.Status.Allocated)
			g.Expect(o.String()).To(Equal(offered[n.Name].String()), "node %s: status.offered against its offers %v", n.Name, seen[n.Name])
			g.Expect(a.String()).To(Equal(allocated[n.Name].String()), "node %s: status.allocated against its tasks", n.Name)
		}
	}).WithTimeout(timeout).WithPolling(500 * time.Millisecond).Should(Succeed())
}

// taskUIDsOf returns the UIDs of every task of framework fw in the history.
func (c *cluster) taskUIDsOf(fw string) map[types.UID]string {
	out := map[types.UID]string{}
	for _, e := range c.hist.Events() {
		if e.Task != nil && e.Task.Spec.Framework == fw {
			out[e.Task.UID] = e.Task.Name
		}
	}
	return out
}

// ranTasks returns the names of the tasks of framework fw that ran (reached
// Running) at some point of the history, by UID.
func (c *cluster) ranTasks(fw string) map[types.UID]string {
	out := map[types.UID]string{}
	for _, e := range c.hist.Events() {
		if e.Task != nil && e.Task.Spec.Framework == fw && e.Task.Status.State == v1alpha1.TaskRunning {
			out[e.Task.UID] = e.Task.Name
		}
	}
	return out
}

// TestMasterKilled SIGKILLs the master while a keeper framework runs its tasks
// and a Job is half done, and restarts it on the same data dir: no task is
// lost, duplicated or run again, the Job completes exactly, offers are not
// leaked, and both frameworks go on.
func TestMasterKilled(t *testing.T) {
	g := NewWithT(t)
	c := newCluster(t, "master-killed", clusterOptions{agents: threeAgents})
	c.startKeeper(keeperOptions{name: "keeper", namespace: "default", instances: 3, failover: 10 * time.Minute})
	keepers := c.waitRunning("default", "keeper", 3, 2*time.Minute)
	c.apply(c.jobYAML("batch", 6, 2, 4))
	g.Eventually(func() int { return len(c.live("default", "jobs")) }).WithTimeout(time.Minute).Should(BeNumerically(">", 0))
	time.Sleep(time.Second) // mid-run

	keeperTasks := c.taskUIDsOf("keeper")
	c.killMaster(0)
	time.Sleep(2 * time.Second)
	restarted := time.Now()
	c.fig.log("master-restart-ready", c.restartMaster(0))
	g.Eventually(func() bool {
		for _, e := range c.hist.Events() {
			if e.Offer != nil && e.Type == "ADDED" && e.Observed.After(restarted) {
				return true
			}
		}
		return false
	}).WithTimeout(time.Minute).Should(BeTrue(), "the restarted master makes offers")
	first := time.Time{}
	for _, e := range c.hist.Events() {
		if e.Offer != nil && e.Type == "ADDED" && e.Observed.After(restarted) && (first.IsZero() || e.Observed.Before(first)) {
			first = e.Observed
		}
	}
	c.fig.log("first-offer-after-restart", first.Sub(restarted))

	// The Job completes, each index run once.
	c.waitJobComplete("batch", 6, 2*time.Minute)
	ran := c.ranTasks("jobs")
	indices := map[string][]string{}
	for _, name := range ran {
		index := name[:strings.LastIndex(name, "-")]
		indices[index] = append(indices[index], name)
	}
	g.Expect(indices).To(HaveLen(6), "every index of the Job ran: %v", indices)
	for index, names := range indices {
		g.Expect(names).To(HaveLen(1), "index %s ran once", index)
	}

	// The keeper's tasks ran on, none was replaced, and the keeper still acts.
	g.Expect(c.taskUIDsOf("keeper")).To(Equal(keeperTasks), "the keeper launched nothing new")
	for _, k := range c.waitRunning("default", "keeper", 3, time.Minute) {
		g.Expect(uids(keepers)).To(HaveKey(k.UID))
	}
	fw := &v1alpha1.Framework{}
	g.Eventually(func() v1alpha1.FrameworkPhase {
		_ = c.client().Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "keeper"}, fw)
		return fw.Status.Phase
	}).WithTimeout(time.Minute).Should(Equal(v1alpha1.FrameworkActive))
	killed := time.Now()
	g.Expect(c.client().Delete(t.Context(), &keepers[0])).To(Succeed())
	c.waitRunning("default", "keeper", 3, time.Minute)
	c.fig.log("relaunch-after-kill-post-failover", time.Since(killed))

	c.checkAccounting(30 * time.Second)
	c.checkHistory(time.Minute)
}
