package binding

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
)

// MaxTasksPerOffer is the most tasks one offer can be accepted for (the
// length limit of an Offer's status.tasks).
const MaxTasksPerOffer = 256

// OfferView is what the binding decision knows of one offer a task names.
type OfferView struct {
	// Name and Namespace are the Offer's.
	Name, Namespace string
	// Found is false when no such Offer exists.
	Found bool
	// Framework and Node are the offer's framework and node.
	Framework, Node string
	// Resources are the offered resources.
	Resources resources.Vector
	// Phase, Reason and Message are the offer's status.
	Phase   v1alpha1.OfferPhase
	Reason  v1alpha1.OfferReason
	Message string
	// Declined is true when spec.decline is set.
	Declined bool
	// Tasks are the tasks the offer was accepted for (status.tasks).
	Tasks []string
}

// TaskView is what the binding decision knows of one task waiting to be
// bound.
type TaskView struct {
	// Name, Namespace and Framework are the Task's.
	Name, Namespace, Framework string
	// Offers are the names of the offers it is launched on.
	Offers []string
	// Resources are what it asks for.
	Resources v1alpha1.Resources
	// Created orders the tasks: when offers cannot hold every task that names
	// them, the earlier tasks are bound.
	Created time.Time
}

// Outcome is what to do with a set of tasks: bind some, drop others.
type Outcome struct {
	// Binds are the groups of tasks to bind, one per node.
	Binds []Bind
	// Drops are the tasks that end without being launched.
	Drops []Drop
}

// Bind binds tasks to a node on offers.
type Bind struct {
	// Node is the node the tasks are bound to.
	Node string
	// Accept are the outstanding offers to accept, sorted.
	Accept []string
	// Held are the offers that were already accepted for these tasks.
	Held []string
	// Tasks are the names of the tasks to bind, in decision order.
	Tasks []string
	// OfferTasks lists, for each offer in Accept, the tasks that name it: the
	// offer's status.tasks.
	OfferTasks map[string][]string
	// Resources are what each task holds.
	Resources map[string]resources.Vector
}

// Drop ends a task without launching it.
type Drop struct {
	// Task is the task's name.
	Task string
	// State is Dropped for invalid offers, Error for a malformed task.
	State v1alpha1.TaskState
	// Reason is InvalidOffers or TaskInvalid.
	Reason v1alpha1.TaskReason
	// Message says why, for people.
	Message string
}

// candidate is a task that passed the checks of its own offers.
type candidate struct {
	view   *TaskView
	res    resources.Vector
	offers []string
	node   string
	held   bool // all its offers were accepted for it already
}

// Decide decides, for tasks waiting to be bound and the offers they name,
// which tasks to bind where and which to drop. It checks that each task is
// well formed, that its offers exist, are outstanding (or were accepted for
// it), belong to its framework and namespace and lie on one node, and that
// the offers together hold the resources, ports included, of every task bound
// on them: tasks that name the same offers share them, earlier tasks first,
// and offers pool their resources only when a bound task names them together.
// Decide is pure: the caller applies the outcome.
func Decide(tasks []TaskView, offers map[string]OfferView) Outcome {
	ordered := make([]*TaskView, len(tasks))
	for i := range tasks {
		ordered[i] = &tasks[i]
	}
	slices.SortFunc(ordered, func(a, b *TaskView) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.Name, b.Name))
	})
	var out Outcome
	var cands []*candidate
	for _, t := range ordered {
		c, drop := check(t, offers)
		if drop != nil {
			out.Drops = append(out.Drops, *drop)
			continue
		}
		cands = append(cands, c)
	}
	for _, group := range components(cands) {
		b, drops := fit(group, offers)
		out.Drops = append(out.Drops, drops...)
		if b != nil {
			out.Binds = append(out.Binds, *b)
		}
	}
	return out
}

// check checks a task and its own offers.
func check(t *TaskView, offers map[string]OfferView) (*candidate, *Drop) {
	invalid := func(format string, args ...any) *Drop {
		return &Drop{Task: t.Name, State: v1alpha1.TaskError, Reason: v1alpha1.ReasonTaskInvalid, Message: fmt.Sprintf(format, args...)}
	}
	res, err := resources.FromAPI(t.Resources)
	switch {
	case err != nil:
		return nil, invalid("spec.resources.%v", err)
	case res.MilliCPUs == 0 && res.Mem == 0:
		return nil, invalid("spec.resources must ask for some cpus or mem")
	case len(t.Offers) == 0:
		return nil, invalid("spec.offers names no offer")
	}
	c := &candidate{view: t, res: res, held: true}
	var problems []string
	nodes := map[string][]string{}
	for _, name := range t.Offers {
		if slices.Contains(c.offers, name) {
			continue
		}
		c.offers = append(c.offers, name)
		o, ok := offers[name]
		if p := offerProblem(t, name, o, ok); p != "" {
			problems = append(problems, p)
			continue
		}
		if o.Phase != v1alpha1.OfferAccepted {
			c.held = false
		}
		nodes[o.Node] = append(nodes[o.Node], name)
	}
	if len(problems) == 0 && len(nodes) > 1 {
		problems = append(problems, "offers lie on more than one node: "+describeNodes(nodes))
	}
	if len(problems) > 0 {
		return nil, &Drop{Task: t.Name, State: v1alpha1.TaskDropped, Reason: v1alpha1.ReasonInvalidOffers,
			Message: strings.Join(problems, "; ")}
	}
	for n := range nodes {
		c.node = n
	}
	return c, nil
}

// offerProblem says what makes an offer unusable by a task, or "".
func offerProblem(t *TaskView, name string, o OfferView, ok bool) string {
	switch {
	case !ok || !o.Found:
		return fmt.Sprintf("offer %s does not exist", name)
	case o.Namespace != t.Namespace:
		return fmt.Sprintf("offer %s is in namespace %s, not %s", name, o.Namespace, t.Namespace)
	case o.Framework != t.Framework:
		return fmt.Sprintf("offer %s belongs to framework %s, not %s", name, o.Framework, t.Framework)
	case o.Phase == v1alpha1.OfferAccepted:
		if slices.Contains(o.Tasks, t.Name) {
			return ""
		}
		return fmt.Sprintf("offer %s was already accepted by %s", name, describeTasks(o.Tasks))
	case o.Phase.IsFinal():
		switch {
		case o.Reason != "" && o.Message != "":
			return fmt.Sprintf("offer %s is %s (%s: %s)", name, o.Phase, o.Reason, o.Message)
		case o.Reason != "":
			return fmt.Sprintf("offer %s is %s (%s)", name, o.Phase, o.Reason)
		}
		return fmt.Sprintf("offer %s is %s", name, o.Phase)
	case o.Declined:
		return fmt.Sprintf("offer %s was declined", name)
	}
	return ""
}

// components groups candidates that share offers, transitively; groups and
// their members keep the candidates' order.
func components(cands []*candidate) [][]*candidate {
	parent := make([]int, len(cands))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	for i, c := range cands {
		for _, o := range c.offers {
			if j, ok := owner[o]; ok {
				ri, rj := find(i), find(j)
				parent[max(ri, rj)] = min(ri, rj)
			} else {
				owner[o] = i
			}
		}
	}
	var groups [][]*candidate
	index := map[int]int{}
	for i, c := range cands {
		r := find(i)
		g, ok := index[r]
		if !ok {
			g = len(groups)
			index[r] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], c)
	}
	return groups
}

// fit binds the tasks of one group that their offers hold: first the tasks
// whose offers were accepted for them already, then the others first fit, in
// order. A task draws on the offers it names and on those that the tasks
// bound before it link to them (see pools), never on offers that only a
// dropped task named.
func fit(group []*candidate, offers map[string]OfferView) (*Bind, []Drop) {
	b := &Bind{OfferTasks: map[string][]string{}, Resources: map[string]resources.Vector{}}
	var drops []Drop
	ps := newPools()
	var bound []string
	add := func(c *candidate, p *pool) {
		ps.add(p, c.view.Name, c.res)
		bound = append(bound, c.view.Name)
		b.Node = c.node
		b.Resources[c.view.Name] = c.res
	}
	for _, c := range group {
		if c.held {
			add(c, ps.join(c.offers, offers))
		}
	}
	for _, c := range group {
		if c.held {
			continue
		}
		p := ps.join(c.offers, offers)
		if msg := short(c, p); msg != "" {
			drops = append(drops, Drop{Task: c.view.Name, State: v1alpha1.TaskDropped, Reason: v1alpha1.ReasonInvalidOffers, Message: msg})
			continue
		}
		if full := crowded(c, b.OfferTasks); full != "" {
			drops = append(drops, Drop{Task: c.view.Name, State: v1alpha1.TaskDropped, Reason: v1alpha1.ReasonInvalidOffers,
				Message: fmt.Sprintf("offer %s cannot be accepted for more than %d tasks", full, MaxTasksPerOffer)})
			continue
		}
		add(c, p)
		for _, o := range c.offers {
			if offers[o].Phase != v1alpha1.OfferAccepted {
				b.OfferTasks[o] = append(b.OfferTasks[o], c.view.Name)
			}
		}
	}
	if len(bound) == 0 {
		return nil, drops
	}
	b.Tasks = bound
	for _, o := range ps.offers() {
		if offers[o].Phase == v1alpha1.OfferAccepted {
			b.Held = append(b.Held, o)
		} else {
			b.Accept = append(b.Accept, o)
		}
	}
	return b, drops
}

// crowded returns an offer of c that already carries MaxTasksPerOffer tasks.
func crowded(c *candidate, offerTasks map[string][]string) string {
	for _, o := range c.offers {
		if len(offerTasks[o]) >= MaxTasksPerOffer {
			return o
		}
	}
	return ""
}

// short says why c does not fit in p, the pool it would draw on, after the
// tasks bound in p before it, or "" when it fits.
func short(c *candidate, p *pool) string {
	left := p.have.Sub(p.used)
	if left.Contains(c.res) {
		return ""
	}
	holder := "offer " + p.offers[0] + " holds"
	if len(p.offers) > 1 {
		holder = "offers " + strings.Join(p.offers, ", ") + " hold"
	}
	if taken := c.res.Ports.Intersect(p.used.Ports); !taken.IsEmpty() {
		return fmt.Sprintf("ports %s of %s are taken by %s", taken, holder[:strings.LastIndex(holder, " ")], describeTasks(p.tasks))
	}
	have, need := describeShort(left, c.res)
	if len(p.tasks) == 0 {
		return fmt.Sprintf("%s %s but the task needs %s", holder, have, need)
	}
	return fmt.Sprintf("%s %s after %s, but the task needs %s", holder, have, describeTasks(p.tasks), need)
}

// describeShort lists, for each resource of which have holds less than need,
// what there is and what is needed: "cpus 0.5", "cpus 1".
func describeShort(have, need resources.Vector) (string, string) {
	var hs, ns []string
	hv, nv := have.Scalars(), need.Scalars()
	for i, n := range resources.Names {
		if nv[i] > hv[i] {
			hs = append(hs, n.String()+" "+resources.FormatScalar(n, hv[i]))
			ns = append(ns, n.String()+" "+resources.FormatScalar(n, nv[i]))
		}
	}
	if missing := need.Ports.Difference(have.Ports); !missing.IsEmpty() {
		hs = append(hs, "ports "+have.Ports.String())
		ns = append(ns, "ports "+missing.String())
	}
	return strings.Join(hs, ", "), strings.Join(ns, ", ")
}

func describeTasks(names []string) string {
	switch {
	case len(names) == 0:
		return "other tasks"
	case len(names) == 1:
		return "task " + names[0]
	case len(names) <= 3:
		return "tasks " + strings.Join(names, ", ")
	}
	return fmt.Sprintf("tasks %s and %d more", strings.Join(names[:3], ", "), len(names)-3)
}

func describeNodes(nodes map[string][]string) string {
	names := make([]string, 0, len(nodes))
	for n := range nodes {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = strings.Join(nodes[n], ", ") + " on " + n
	}
	return strings.Join(parts, "; ")
}
