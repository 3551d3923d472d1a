package history

import (
	"slices"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
)

// checkBinding checks the offers a task was just bound on: each was made,
// belongs to the task's framework and node, and was outstanding or accepted for
// this task; and the tasks bound on the group of offers fit in it.
func (r *replay) checkBinding(rv int64, t *v1alpha1.Task) {
	obj := taskKey(t)
	for _, name := range t.Spec.Offers {
		st := r.offers[t.Namespace+"/"+name]
		if st == nil {
			r.report("offer-closed", rv, obj, "bound on offer %s, which was never made", name)
			continue
		}
		o := st.cur
		switch {
		case o.Spec.Framework != t.Spec.Framework:
			r.report("offer-foreign", rv, obj, "of framework %s bound on offer %s of framework %s", t.Spec.Framework, name, o.Spec.Framework)
		case o.Spec.NodeName != t.Spec.NodeName:
			r.report("offer-foreign", rv, obj, "bound to node %s on offer %s of node %s", t.Spec.NodeName, name, o.Spec.NodeName)
		}
		switch phase := o.Status.Phase; {
		case st.deleted:
			r.report("offer-closed", rv, obj, "bound on offer %s after it was deleted", name)
		case phase == "" || phase == v1alpha1.OfferOutstanding:
		case phase == v1alpha1.OfferAccepted && slices.Contains(o.Status.Tasks, t.Name):
		case phase == v1alpha1.OfferAccepted:
			r.report("offer-reused", rv, obj, "bound on offer %s, already accepted for %v", name, o.Status.Tasks)
		default:
			r.report("offer-closed", rv, obj, "bound on offer %s, which was %s", name, phase)
		}
	}
	if len(t.Spec.Offers) > 0 {
		r.checkOfferGroup(rv, t)
	}
}

// checkOfferGroup checks that every task ever bound on the offers connected to
// t's (through tasks naming several) fits in those offers together.
func (r *replay) checkOfferGroup(rv int64, t *v1alpha1.Task) {
	offers := map[string]bool{}
	for _, o := range t.Spec.Offers {
		offers[o] = true
	}
	tasks := map[string]bool{}
	for grew := true; grew; {
		grew = false
		for _, uid := range r.taskOrder {
			other := r.tasks[uid].cur
			if tasks[uid] || other.Namespace != t.Namespace || other.Spec.NodeName == "" {
				continue
			}
			if !slices.ContainsFunc(other.Spec.Offers, func(o string) bool { return offers[o] }) {
				continue
			}
			tasks[uid], grew = true, true
			for _, o := range other.Spec.Offers {
				offers[o] = true
			}
		}
	}
	var held, used resources.Vector
	for _, name := range sortedKeys(offers) {
		if st := r.offers[t.Namespace+"/"+name]; st != nil {
			held = held.Add(vectorOf(st.cur.Spec.Resources))
		}
	}
	var names []string
	for _, uid := range sortedKeys(tasks) {
		other := r.tasks[uid].cur
		used = used.Add(vectorOf(other.Spec.Resources))
		names = append(names, other.Name)
	}
	if !held.Contains(used) {
		r.report("offer-exceeded", rv, taskKey(t), "tasks %v use %s of offers %v holding %s (short of %s)",
			names, used, sortedKeys(offers), held, held.Shortfall(used))
	}
}

// pendingNode returns the node of an accepted offer that names t while t is not
// bound yet: the master has taken t's resources there already.
func (r *replay) pendingNode(t *v1alpha1.Task) string {
	if t.Spec.NodeName != "" {
		return ""
	}
	for _, name := range t.Spec.Offers {
		st := r.offers[t.Namespace+"/"+name]
		if st != nil && st.cur.Status.Phase == v1alpha1.OfferAccepted && slices.Contains(st.cur.Status.Tasks, t.Name) {
			return st.cur.Spec.NodeName
		}
	}
	return ""
}

// checkCommitment checks that node's outstanding offers and non-terminal tasks
// fit in its allocatable resources, and that no port is held twice. Each
// episode of over-commitment is reported once.
func (r *replay) checkCommitment(rv int64, node string) {
	n := r.nodes[node]
	if node == "" || n == nil {
		return
	}
	var total resources.Vector
	var holders []string
	overlap := ""
	add := func(who string, res v1alpha1.Resources) {
		v := vectorOf(res)
		if common := total.Ports.Intersect(v.Ports); !common.IsEmpty() && overlap == "" {
			overlap = who + " holds ports " + common.String() + " held already"
		}
		total = total.Add(v)
		holders = append(holders, who+" ("+v.String()+")")
	}
	for _, key := range sortedKeys(r.offers) {
		st := r.offers[key]
		if !st.deleted && st.cur.Spec.NodeName == node && !st.cur.Status.Phase.IsFinal() {
			add("offer "+key, st.cur.Spec.Resources)
		}
	}
	for _, uid := range r.taskOrder {
		ts := r.tasks[uid]
		if ts.deleted || ts.cur.IsTerminal() {
			continue
		}
		if ts.cur.Spec.NodeName == node || r.pendingNode(ts.cur) == node {
			add("task "+ts.cur.Namespace+"/"+ts.cur.Name, ts.cur.Spec.Resources)
		}
	}
	alloc := vectorOf(n.Status.Allocatable)
	over := !alloc.Contains(total) || overlap != ""
	if over && !r.over[node] {
		why := overlap
		if why == "" {
			why = "short of " + alloc.Shortfall(total).String()
		}
		r.report("overcommit", rv, "Node/"+node, "committed %s of allocatable %s (%s): %v", total, alloc, why, holders)
	}
	r.over[node] = over
}

// checkNodeStatus checks what the master wrote of a node: allocated plus
// offered within allocatable.
func (r *replay) checkNodeStatus(rv int64, n *v1alpha1.Node) {
	s := n.Status
	if len(s.Allocatable.Ports) == 0 && s.Allocatable.Cpus == nil && s.Allocatable.Mem == nil {
		return // not reported yet
	}
	sum := vectorOf(s.Allocated).Add(vectorOf(s.Offered))
	if alloc := vectorOf(s.Allocatable); !alloc.Contains(sum) {
		r.report("node-status", rv, "Node/"+n.Name, "status.allocated %s plus status.offered %s exceed status.allocatable %s",
			formatResources(s.Allocated), formatResources(s.Offered), alloc)
	}
}

// checkSamples checks the containers the runtimes ran: each belongs to a task
// bound to that node, one task never has two live containers on a node, and a
// container is never started twice.
func (r *replay) checkSamples(samples []Sample) {
	type start struct {
		created string
		pid     int
	}
	started := map[string]start{}      // container ID -> first start seen alive
	idsOfTask := map[string][]string{} // task UID -> container IDs seen
	reported := map[string]bool{}      // invariant+container, so each is reported once
	once := func(key string) bool { ok := !reported[key]; reported[key] = true; return ok }
	for _, s := range samples {
		live := map[string]string{} // task UID -> container ID, in this sample
		for _, c := range s.Containers {
			obj := "Container/" + s.Node + "/" + c.ID
			if !slices.Contains(idsOfTask[c.TaskUID], c.ID) {
				idsOfTask[c.TaskUID] = append(idsOfTask[c.TaskUID], c.ID)
				if len(idsOfTask[c.TaskUID]) > 1 && once("rerun-ids/"+c.TaskUID) {
					r.report("task-rerun", 0, obj, "task %s/%s (uid %s) had containers %v", c.TaskNamespace, c.TaskName, c.TaskUID, idsOfTask[c.TaskUID])
				}
			}
			if ts := r.tasks[c.TaskUID]; ts == nil || ts.cur.Spec.NodeName != s.Node || (c.AnnotatedNode != "" && c.AnnotatedNode != s.Node) {
				bound := "never bound"
				if ts != nil && ts.cur.Spec.NodeName != "" {
					bound = "bound to " + ts.cur.Spec.NodeName
				}
				if once("wrong-node/" + s.Node + "/" + c.ID) {
					r.report("task-wrong-node", 0, obj, "runs on %s for task %s/%s (uid %s), which is %s", s.Node, c.TaskNamespace, c.TaskName, c.TaskUID, bound)
				}
			}
			if !c.Alive() {
				continue
			}
			if other, ok := live[c.TaskUID]; ok && once("twice/"+c.TaskUID) {
				r.report("task-twice", 0, obj, "task %s/%s runs in containers %s and %s at once", c.TaskNamespace, c.TaskName, other, c.ID)
			}
			live[c.TaskUID] = c.ID
			now := start{created: c.Created.String(), pid: c.Pid}
			if first, ok := started[c.ID]; !ok {
				started[c.ID] = now
			} else if first != now && once("rerun/"+c.ID) {
				r.report("task-rerun", 0, obj, "container of task %s/%s started again (pid %d created %s, then pid %d created %s)",
					c.TaskNamespace, c.TaskName, first.pid, first.created, now.pid, now.created)
			}
		}
	}
}
