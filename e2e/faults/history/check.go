package history

import (
	"fmt"
	"slices"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
)

// Check replays h in resourceVersion order and returns every violation of the
// invariants that must hold at all times, then checks the runtime samples.
func Check(h *History) []Violation {
	r := newReplay()
	for _, e := range h.Events() {
		r.apply(e)
	}
	r.checkSamples(h.Samples())
	return r.out
}

// CheckSettled checks the end of h: every task that still exists is terminal or
// Running, and the last sample of each node runs no container for a task that
// is terminal or deleted. Call it once the cluster has settled.
func CheckSettled(h *History) []Violation {
	r := newReplay()
	for _, e := range h.Events() {
		r.apply(e)
	}
	r.out = nil
	for _, uid := range r.taskOrder {
		ts := r.tasks[uid]
		if ts.deleted {
			continue
		}
		if s := ts.cur.Status.State; !s.IsTerminal() && s != v1alpha1.TaskRunning {
			r.report("unsettled", 0, taskKey(ts.cur), "task ended the history %s, neither terminal nor Running", stateOf(s))
		}
	}
	last := map[string]Sample{}
	for _, s := range h.Samples() {
		last[s.Node] = s
	}
	for _, node := range sortedKeys(last) {
		for _, c := range last[node].Containers {
			if !c.Alive() {
				continue
			}
			ts := r.tasks[c.TaskUID]
			switch {
			case ts == nil:
				r.report("stale-container", 0, "Container/"+node+"/"+c.ID, "container %s runs for task uid %q the API never had", c.ID, c.TaskUID)
			case ts.deleted:
				r.report("stale-container", 0, taskKey(ts.cur), "container %s still %s on %s after the task was deleted", c.ID, c.Status, node)
			case ts.cur.IsTerminal():
				r.report("stale-container", 0, taskKey(ts.cur), "container %s still %s on %s after the task ended %s", c.ID, c.Status, node, ts.cur.Status.State)
			}
		}
	}
	return r.out
}

// replay is the state of the objects at one point of the history.
type replay struct {
	nodes     map[string]*v1alpha1.Node
	offers    map[string]*offerState // by namespace/name
	tasks     map[string]*taskState  // by UID
	taskOrder []string
	byName    map[string]string // namespace/name -> UID of the latest task of that name
	// over holds the nodes currently over-committed, so each episode is
	// reported once.
	over map[string]bool
	out  []Violation
}

type offerState struct {
	cur     *v1alpha1.Offer
	deleted bool
}

type taskState struct {
	cur        *v1alpha1.Task
	deleted    bool
	containers []string // container IDs the task reported, in order
}

func newReplay() *replay {
	return &replay{
		nodes:  map[string]*v1alpha1.Node{},
		offers: map[string]*offerState{},
		tasks:  map[string]*taskState{},
		byName: map[string]string{},
		over:   map[string]bool{},
	}
}

func (r *replay) report(invariant string, rv int64, object, format string, args ...any) {
	r.out = append(r.out, Violation{Invariant: invariant, ResourceVersion: rv, Object: object, Message: fmt.Sprintf(format, args...)})
}

// apply moves the replay past e and checks what e may have broken.
func (r *replay) apply(e Event) {
	switch {
	case e.Node != nil:
		r.applyNode(e)
	case e.Offer != nil:
		r.applyOffer(e)
	case e.Task != nil:
		r.applyTask(e)
	}
}

func (r *replay) applyNode(e Event) {
	n := e.Node
	if e.Type == Deleted {
		delete(r.nodes, n.Name)
		return
	}
	r.nodes[n.Name] = n
	r.checkNodeStatus(e.ResourceVersion, n)
	r.checkCommitment(e.ResourceVersion, n.Name)
}

func (r *replay) applyOffer(e Event) {
	o := e.Offer
	key := o.Namespace + "/" + o.Name
	prev := r.offers[key]
	if prev != nil && prev.cur.UID != o.UID {
		prev = nil // a new offer of the same name
	}
	if prev != nil && !prev.deleted {
		r.checkOfferChange(e.ResourceVersion, prev.cur, o)
	}
	r.offers[key] = &offerState{cur: o, deleted: e.Type == Deleted}
	r.checkCommitment(e.ResourceVersion, o.Spec.NodeName)
}

// checkOfferChange checks that an offer's final phase and what it offers never
// change, and that it is accepted for one set of tasks only.
func (r *replay) checkOfferChange(rv int64, prev, cur *v1alpha1.Offer) {
	obj := "Offer/" + cur.Namespace + "/" + cur.Name
	if prev.Status.Phase.IsFinal() && cur.Status.Phase != prev.Status.Phase {
		r.report("offer-final", rv, obj, "phase changed from final %s to %s", prev.Status.Phase, stateOf(v1alpha1.TaskState(cur.Status.Phase)))
	}
	if prev.Spec.Framework != cur.Spec.Framework || prev.Spec.NodeName != cur.Spec.NodeName ||
		!sameResources(prev.Spec.Resources, cur.Spec.Resources) {
		r.report("offer-final", rv, obj, "what is offered changed: framework %s->%s, node %s->%s, resources %s->%s",
			prev.Spec.Framework, cur.Spec.Framework, prev.Spec.NodeName, cur.Spec.NodeName,
			formatResources(prev.Spec.Resources), formatResources(cur.Spec.Resources))
	}
	if len(prev.Status.Tasks) > 0 && !sameSet(prev.Status.Tasks, cur.Status.Tasks) {
		r.report("offer-reused", rv, obj, "accepted for tasks %v, then for %v", prev.Status.Tasks, cur.Status.Tasks)
	}
}

func (r *replay) applyTask(e Event) {
	t := e.Task
	uid := string(t.UID)
	obj := taskKey(t)
	ts := r.tasks[uid]
	if ts == nil {
		ts = &taskState{}
		r.tasks[uid] = ts
		r.taskOrder = append(r.taskOrder, uid)
	}
	prev := ts.cur
	ts.cur, ts.deleted = t, e.Type == Deleted
	r.byName[t.Namespace+"/"+t.Name] = uid
	if id := t.Status.ContainerID; id != "" && !slices.Contains(ts.containers, id) {
		ts.containers = append(ts.containers, id)
		if len(ts.containers) > 1 {
			r.report("task-containers", e.ResourceVersion, obj, "reported containers %v: a task runs one container", ts.containers)
		}
	}
	if prev != nil {
		if prev.Spec.NodeName != "" && t.Spec.NodeName != prev.Spec.NodeName {
			r.report("task-node", e.ResourceVersion, obj, "moved from node %s to %q", prev.Spec.NodeName, t.Spec.NodeName)
		}
		if prev.IsTerminal() && t.Status.State != prev.Status.State {
			r.report("terminal-final", e.ResourceVersion, obj, "left terminal state %s for %s", prev.Status.State, stateOf(t.Status.State))
		}
	}
	if t.Spec.NodeName != "" && (prev == nil || prev.Spec.NodeName == "") {
		r.checkBinding(e.ResourceVersion, t)
	}
	r.checkCommitment(e.ResourceVersion, t.Spec.NodeName)
	if n := r.pendingNode(t); n != "" && n != t.Spec.NodeName {
		r.checkCommitment(e.ResourceVersion, n)
	}
}

func taskKey(t *v1alpha1.Task) string { return "Task/" + t.Namespace + "/" + t.Name }

func stateOf(s v1alpha1.TaskState) string {
	if s == "" {
		return "(none)"
	}
	return string(s)
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func vectorOf(r v1alpha1.Resources) resources.Vector {
	v, err := resources.FromAPI(r)
	if err != nil {
		return resources.Vector{}
	}
	return v
}

func sameResources(a, b v1alpha1.Resources) bool {
	return vectorOf(a).Equal(vectorOf(b))
}

func formatResources(r v1alpha1.Resources) string {
	return vectorOf(r).String()
}
