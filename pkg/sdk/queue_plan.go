package sdk

import (
	"fmt"
	"strconv"
	"strings"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
)

// Group is a set of tasks a Queue is to launch, with the placement rules they
// share. A framework keeps one Group per thing it runs (an App, a Job).
type Group struct {
	// Tasks are the tasks to launch, in order: a task is placed only after the
	// tasks before it. Each needs a name and a spec (see Launch.Tasks).
	Tasks []v1alpha1.Task
	// Constraints are placement rules every task of the group must keep, given
	// Placed and the tasks placed before it.
	Constraints []v1alpha1.Constraint
	// Placed are the nodes where the group's tasks run already, for
	// constraints.
	Placed []Placement
	// Ports is how many host ports each task gets from its offers, lowest free
	// first: they are added to its resources and given to it in the
	// environment as PORT0, PORT1... and PORTS (comma-separated).
	Ports int
}

// keyedGroup is a Group with its key, for planning.
type keyedGroup struct {
	key string
	Group
}

// planResult is what a round of planning decided.
type planResult struct {
	// decisions are a Launch per node that got tasks, and Declines of the
	// offers of the other nodes.
	decisions []Decision
	// launched are the names of the tasks placed.
	launched []string
	// waiting counts the tasks not placed.
	waiting int
	// unplaced says, by group key, why the group's next task found no node.
	unplaced map[string]string
}

// plan places the groups' tasks on the nodes' offers: round-robin over the
// groups (in the order given), each placing its next task on the first node,
// in order, where it fits, keeps the group's constraints and has fewer than
// opts.MaxLaunchTasks tasks (when positive); a group whose next task fits
// nowhere stops. Nodes that got tasks are launched on; the others are
// declined for opts.RefuseSeconds while tasks wait, or opts.IdleRefuseSeconds
// when all were placed.
func plan(groups []keyedGroup, nodes []*NodeOffers, opts QueueOptions) planResult {
	res := planResult{unplaced: map[string]string{}}
	next := make([]int, len(groups))
	placed := make([][]Placement, len(groups))
	for i, g := range groups {
		placed[i] = append([]Placement(nil), g.Placed...)
	}
	blocked := make([]bool, len(groups))
	for progress := true; progress; {
		progress = false
		for i, g := range groups {
			if blocked[i] || next[i] >= len(g.Tasks) {
				continue
			}
			n, t, why := placeOne(g.Group, g.Tasks[next[i]], nodes, placed[i], opts.MaxLaunchTasks)
			if n == nil {
				blocked[i] = true
				res.unplaced[g.key] = why
				continue
			}
			if err := n.Add(t); err != nil { // placeOne checked that it fits
				blocked[i] = true
				res.unplaced[g.key] = err.Error()
				continue
			}
			placed[i] = append(placed[i], n.Placement())
			res.launched = append(res.launched, t.Name)
			next[i]++
			progress = true
		}
	}
	for i, g := range groups {
		res.waiting += len(g.Tasks) - next[i]
	}
	refuse := opts.IdleRefuseSeconds
	if res.waiting > 0 {
		refuse = opts.RefuseSeconds
	}
	for _, n := range nodes {
		res.decisions = append(res.decisions, n.Decisions(Seconds(refuse))...)
	}
	return res
}

// placeOne finds the first node for task t of group g that has fewer than
// maxTasks tasks (when positive): the task as it will be launched there (with
// its ports) and the node; or nil and why none fits. The reasons are worked
// out only when no node fits: a round places many tasks on nodes that are
// full for most of them.
func placeOne(g Group, t v1alpha1.Task, nodes []*NodeOffers, placed []Placement, maxTasks int) (*NodeOffers, v1alpha1.Task, string) {
	if len(nodes) == 0 {
		return nil, t, "no offers"
	}
	atLimit := func(n *NodeOffers) bool { return maxTasks > 0 && len(n.Tasks) >= maxTasks }
	// Without ports to pick, the task's resources are the same on every node.
	var want *resources.Vector
	if g.Ports <= 0 {
		if v, err := resources.FromAPI(t.Spec.Resources); err == nil {
			want = &v
		}
	}
	for _, n := range nodes {
		if atLimit(n) || (want != nil && !want.Fits(n.Free)) {
			continue // full: why is worked out only if no node fits
		}
		if cand, err := fitOn(g, t, n, placed); err == nil {
			return n, *cand, ""
		}
	}
	var reasons []string
	for _, n := range nodes {
		if atLimit(n) {
			reasons = append(reasons, fmt.Sprintf("%s: a launch carries at most %d tasks, the rest wait for its next offer", n.Node, maxTasks))
		} else if _, err := fitOn(g, t, n, placed); err != nil {
			reasons = append(reasons, err.Error())
		}
	}
	return nil, t, summarize(reasons)
}

// fitOn returns task t of group g as it will be launched on node n (with its
// ports), or why it does not fit there.
func fitOn(g Group, t v1alpha1.Task, n *NodeOffers, placed []Placement) (*v1alpha1.Task, error) {
	if err := Satisfies(g.Constraints, n.Placement(), placed); err != nil {
		return nil, err
	}
	cand := withPorts(t, n, g.Ports)
	if cand == nil {
		return nil, fmt.Errorf("%s: short of %d ports", n.Node, g.Ports)
	}
	if err := n.Fits(cand.Spec.Resources); err != nil {
		return nil, err
	}
	return cand, nil
}

// withPorts returns t with count ports of n added to its resources and
// environment (a deep copy then; t itself without ports); nil when n has too
// few.
func withPorts(t v1alpha1.Task, n *NodeOffers, count int) *v1alpha1.Task {
	if count <= 0 {
		return &t
	}
	out := t.DeepCopy()
	free := n.Free.Ports.ToAPI()
	// Ports the task names itself are not free for the picked ones.
	if named, err := pickPortsExcept(free, out.Spec.Resources.Ports, count); err == nil {
		out.Spec.Resources.Ports = append(out.Spec.Resources.Ports, PortRanges(named)...)
		strs := make([]string, len(named))
		for i, p := range named {
			strs[i] = strconv.Itoa(int(p))
			out.Spec.Container.Env = setEnv(out.Spec.Container.Env, "PORT"+strconv.Itoa(i), strs[i])
		}
		out.Spec.Container.Env = setEnv(out.Spec.Container.Env, "PORTS", strings.Join(strs, ","))
		return out
	}
	return nil
}

// pickPortsExcept is PickPorts of the ports in free but not in taken.
func pickPortsExcept(free, taken []v1alpha1.PortRange, count int) ([]int32, error) {
	ports, ok := PickPorts(subtractPorts(free, taken), count)
	if !ok {
		return nil, fmt.Errorf("short of %d ports", count)
	}
	return ports, nil
}

// setEnv sets name=value in env, replacing an existing variable.
func setEnv(env []v1alpha1.EnvVar, name, value string) []v1alpha1.EnvVar {
	for i := range env {
		if env[i].Name == name {
			env[i].Value = value
			return env
		}
	}
	return append(env, v1alpha1.EnvVar{Name: name, Value: value})
}

// summarize joins the reasons no node fitted, at most three of them.
func summarize(reasons []string) string {
	const most = 3
	if len(reasons) <= most {
		return strings.Join(reasons, "; ")
	}
	return strings.Join(reasons[:most], "; ") + fmt.Sprintf("; and %d more nodes", len(reasons)-most)
}
