package faults

import (
	"context"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/controllers/apps"
)

// threeAgents are the nodes of most scenarios.
var threeAgents = []agentSpec{
	{node: "n1", resources: "cpus:1;mem:512Mi;disk:1Gi"},
	{node: "n2", resources: "cpus:1;mem:512Mi;disk:1Gi"},
	{node: "n3", resources: "cpus:1;mem:512Mi;disk:1Gi"},
}

// selector picks the tasks of a workload: those of a framework in a
// namespace and, when app is set, only those of that App.
type selector struct {
	ns, framework, app string
}

// frameworkTasks selects the tasks of framework fw in ns.
func frameworkTasks(ns, fw string) selector { return selector{ns: ns, framework: fw} }

// appTasks selects the tasks of App app in ns, launched by the apps
// framework of the namespace.
func appTasks(ns, app string) selector {
	return selector{ns: ns, framework: apps.DefaultFrameworkName, app: app}
}

// owns reports whether s selects t.
func (s selector) owns(t *v1alpha1.Task) bool {
	return t.Namespace == s.ns && t.Spec.Framework == s.framework && (s.app == "" || t.Annotations[apps.AnnotationApp] == s.app)
}

// live returns the tasks of framework fw in ns that are not terminal and not
// being deleted.
func (c *cluster) live(ns, fw string) []v1alpha1.Task { return c.liveOf(frameworkTasks(ns, fw)) }

// liveOf returns the tasks s selects that are not terminal and not being
// deleted, by name.
func (c *cluster) liveOf(s selector) []v1alpha1.Task {
	var out []v1alpha1.Task
	for _, t := range c.tasks(context.Background(), c.client(), s.ns) {
		if s.owns(&t) && !t.IsTerminal() && t.DeletionTimestamp.IsZero() {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b v1alpha1.Task) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// waitRunning waits until framework fw has exactly n live tasks, all Running
// and none on the nodes in avoid, and returns them.
func (c *cluster) waitRunning(ns, fw string, n int, timeout time.Duration, avoid ...string) []v1alpha1.Task {
	c.t.Helper()
	return c.waitLive(frameworkTasks(ns, fw), n, timeout, avoid...)
}

// waitAppRunning waits until App app has exactly n live tasks, all Running
// and none on the nodes in avoid, and its status counts them; it returns
// them.
func (c *cluster) waitAppRunning(ns, app string, n int, timeout time.Duration, avoid ...string) []v1alpha1.Task {
	c.t.Helper()
	start := time.Now()
	tasks := c.waitLive(appTasks(ns, app), n, timeout, avoid...)
	NewWithT(c.t).Eventually(func(g Gomega) {
		a := &v1alpha1.App{}
		g.Expect(c.client().Get(context.Background(), client.ObjectKey{Namespace: ns, Name: app}, a)).To(Succeed())
		g.Expect(a.Status.Running).To(BeEquivalentTo(n), "App %s: status.running", app)
	}).WithTimeout(max(timeout-time.Since(start), 10*time.Second)).WithPolling(200 * time.Millisecond).Should(Succeed())
	return tasks
}

// waitLive waits until s selects exactly n live tasks, all Running and none
// on the nodes in avoid, and returns them.
func (c *cluster) waitLive(s selector, n int, timeout time.Duration, avoid ...string) []v1alpha1.Task {
	c.t.Helper()
	var tasks []v1alpha1.Task
	NewWithT(c.t).Eventually(func(g Gomega) {
		tasks = c.liveOf(s)
		g.Expect(tasks).To(HaveLen(n))
		for _, t := range tasks {
			g.Expect(t.Status.State).To(Equal(v1alpha1.TaskRunning), t.Name)
			g.Expect(avoid).NotTo(ContainElement(t.Spec.NodeName), t.Name)
		}
	}).WithTimeout(timeout).WithPolling(200 * time.Millisecond).Should(Succeed())
	return tasks
}

// uids returns the UIDs of tasks.
func uids(tasks []v1alpha1.Task) map[types.UID]bool {
	out := map[types.UID]bool{}
	for _, t := range tasks {
		out[t.UID] = true
	}
	return out
}

// onNode returns the tasks bound to node.
func onNode(tasks []v1alpha1.Task, node string) []v1alpha1.Task {
	var out []v1alpha1.Task
	for _, t := range tasks {
		if t.Spec.NodeName == node {
			out = append(out, t)
		}
	}
	return out
}

// firstTaskEvent returns when the recorder first saw, after since, a task
// version that match accepts.
func (c *cluster) firstTaskEvent(since time.Time, match func(t *v1alpha1.Task) bool) (time.Time, bool) {
	var first time.Time
	for _, e := range c.hist.Events() {
		if e.Task == nil || e.Observed.Before(since) || !match(e.Task) {
			continue
		}
		if first.IsZero() || e.Observed.Before(first) {
			first = e.Observed
		}
	}
	return first, !first.IsZero()
}

// lastTaskEvent returns, for each task match accepts at least once after
// since, when it was first accepted, and the latest of those times: when the
// last of them got there.
func (c *cluster) lastTaskEvent(since time.Time, match func(t *v1alpha1.Task) bool) time.Time {
	firsts := map[types.UID]time.Time{}
	for _, e := range c.hist.Events() {
		if e.Task == nil || e.Observed.Before(since) || !match(e.Task) {
			continue
		}
		if f, ok := firsts[e.Task.UID]; !ok || e.Observed.Before(f) {
			firsts[e.Task.UID] = e.Observed
		}
	}
	var last time.Time
	for _, f := range firsts {
		if f.After(last) {
			last = f
		}
	}
	return last
}

// noContainersOf waits until no runtime of the cluster runs a container of
// the tasks with the given UIDs, and returns when it saw that.
func (c *cluster) noContainersOf(ids map[types.UID]bool, timeout time.Duration) time.Time {
	c.t.Helper()
	NewWithT(c.t).Eventually(func() []string {
		var left []string
		for _, a := range c.agents {
			cs, _ := a.containers()
			for _, ct := range cs {
				if ids[types.UID(ct.TaskUID)] && ct.Alive() {
					left = append(left, a.node+"/"+ct.ID)
				}
			}
		}
		return left
	}).WithTimeout(timeout).WithPolling(100 * time.Millisecond).Should(BeEmpty())
	return time.Now()
}
