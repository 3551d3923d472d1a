package faults

import (
	"fmt"
	"time"

	"meseta.dev/meseta/apis/v1alpha1"
)

// workload is what a scenario keeps running through a fault: a number of
// long-running instances, kept by a keeper framework process or by an App of
// the built-in apps framework.
type workload struct {
	sel       selector
	instances int
}

// fourAgents are the nodes of the App scenarios: an App of three instances,
// one per node, leaves one node free to take over a lost or drained one.
var fourAgents = append(threeAgents[:3:3], agentSpec{node: "n4", resources: "cpus:1;mem:512Mi;disk:1Gi"})

// keeperWorkload starts a keeper framework of n instances in namespace
// default.
func (c *cluster) keeperWorkload(n int) workload {
	c.t.Helper()
	c.startKeeper(keeperOptions{name: "keeper", namespace: "default", instances: n, failover: 10 * time.Minute})
	return workload{sel: frameworkTasks("default", "keeper"), instances: n}
}

// appWorkload applies App name of n instances in namespace default, one
// instance per node ([hostname, UNIQUE]).
func (c *cluster) appWorkload(name string, n int) workload {
	c.t.Helper()
	c.apply(c.appYAML(name, n))
	c.logf("applied App %s of %d instances", name, n)
	return workload{sel: appTasks("default", name), instances: n}
}

// appYAML is an App of n instances, one per node, whose tasks stop at once on
// SIGTERM.
func (c *cluster) appYAML(name string, n int) string {
	return fmt.Sprintf(`apiVersion: meseta.dev/v1alpha1
kind: App
metadata: {name: %s, namespace: default}
spec:
  instances: %d
  constraints: [[hostname, UNIQUE]]
  template:
    resources: {cpus: "0.25", mem: 32Mi}
    killGracePeriod: 2s
    container: {image: "%s", command: [sh, -c, 'trap "exit 0" TERM; while true; do sleep 0.2; done']}
`, name, n, c.image())
}

// wait waits until the workload runs all its instances, none on the nodes in
// avoid (for an App, its status counts them too), and returns their tasks.
func (c *cluster) wait(w workload, timeout time.Duration, avoid ...string) []v1alpha1.Task {
	c.t.Helper()
	if w.sel.app != "" {
		return c.waitAppRunning(w.sel.ns, w.sel.app, w.instances, timeout, avoid...)
	}
	return c.waitLive(w.sel, w.instances, timeout, avoid...)
}
