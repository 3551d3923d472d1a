package apps

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/sdk"
)

// offerMemory is how long the placer remembers what a node offered, to say
// why tasks do not fit: declined nodes are not offered again for a while, so
// one round of offers may not show every node.
const offerMemory = 30 * time.Second

// placer is the Scheduler of one namespace's apps framework: an sdk.Queue
// that places the Apps' tasks on offers, and remembers the offers it saw so
// that it can say why an App's tasks found no node (Why). notify is called,
// outside any lock, with the name of each App whose explanation changed.
//
// It also remembers where it launched each task until the App's reconcile
// has seen the task bound (or ended): those nodes are added to the group's
// Placed, so that constraints hold across rounds of offers that come before
// the reconcile does.
type placer struct {
	*sdk.Queue
	notify func(app string)
	now    func() time.Time

	mu       sync.Mutex
	groups   map[string]appGroup     // by App name
	launched map[string]launchedTask // by task name
	nodes    map[string]seenNode     // by node name
	why      map[string]explanation  // by App name
}

// appGroup is what an App's reconcile asked for: the group, and the names of
// the tasks whose node it knows (bound, or ended).
type appGroup struct {
	sdk.Group
	settled map[string]bool
}

// launchedTask is where the placer launched a task, and when.
type launchedTask struct {
	app   string
	where sdk.Placement
	at    time.Time
}

// seenNode is a node's last offer and when it was seen.
type seenNode struct {
	nodeOffer
	at time.Time
}

func newPlacer(notify func(app string)) *placer {
	return &placer{
		Queue:  sdk.NewQueue(sdk.QueueOptions{}),
		notify: notify, now: time.Now,
		groups: map[string]appGroup{}, launched: map[string]launchedTask{},
		nodes: map[string]seenNode{}, why: map[string]explanation{},
	}
}

// Set replaces the tasks to launch of app; a Group without tasks removes it.
// settled are the names of the App's tasks whose node g.Placed accounts for
// (bound) or that ended.
func (p *placer) Set(app string, g sdk.Group, settled []string) {
	p.mu.Lock()
	ag := appGroup{Group: g, settled: map[string]bool{}}
	for _, name := range settled {
		ag.settled[name] = true
		delete(p.launched, name)
	}
	if len(g.Tasks) == 0 {
		delete(p.groups, app)
		delete(p.why, app)
	} else {
		p.groups[app] = ag
	}
	eff := p.effective(app)
	p.mu.Unlock()
	p.Queue.Set(app, eff)
}

// effective returns app's group with the nodes of the tasks launched but not
// yet settled added to Placed; it forgets launches older than a minute.
func (p *placer) effective(app string) sdk.Group {
	ag, ok := p.groups[app]
	if !ok {
		return sdk.Group{}
	}
	g := ag.Group
	g.Placed = slices.Clone(g.Placed)
	now := p.now()
	for _, name := range slices.Sorted(maps.Keys(p.launched)) {
		l := p.launched[name]
		switch {
		case now.Sub(l.at) > time.Minute:
			delete(p.launched, name)
		case l.app == app && !ag.settled[name]:
			g.Placed = append(g.Placed, l.where)
		}
	}
	return g
}

// Why says why app's tasks found no node in the last offers, or nil.
func (p *placer) Why(app string) *explanation {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w, ok := p.why[app]; ok {
		return &w
	}
	return nil
}

// ResourceOffers places the tasks with the Queue, then explains, for each App
// with tasks left, why they were not placed.
func (p *placer) ResourceOffers(ctx context.Context, d *sdk.Driver, offers []v1alpha1.Offer) []sdk.Decision {
	decisions := p.Queue.ResourceOffers(ctx, d, offers)
	p.mu.Lock()
	now := p.now()
	p.remember(offers, now)
	nodeOf := map[string]string{}
	for i := range offers {
		nodeOf[offers[i].Name] = offers[i].Spec.NodeName
	}
	grown := map[string]bool{}
	for _, dec := range decisions {
		l, ok := dec.(sdk.Launch)
		if !ok || len(l.Offers) == 0 {
			continue
		}
		where := sdk.Placement{Node: nodeOf[l.Offers[0]]}
		if n, ok := p.nodes[where.Node]; ok {
			where.Attributes = n.attributes
		}
		for _, t := range l.Tasks {
			app := t.Annotations[AnnotationApp]
			p.launched[t.Name] = launchedTask{app: app, where: where, at: now}
			grown[app] = true
		}
	}
	regroup := map[string]sdk.Group{}
	for app := range grown {
		if _, ok := p.groups[app]; ok {
			regroup[app] = p.effective(app)
		}
	}
	var changed []string
	nodes := p.recentNodes()
	for _, app := range slices.Sorted(maps.Keys(p.groups)) {
		w, ok := p.explainGroup(app, nodes)
		if old, had := p.why[app]; had != ok || old != w {
			changed = append(changed, app)
		}
		if ok {
			p.why[app] = w
		} else {
			delete(p.why, app)
		}
	}
	p.mu.Unlock()
	for app, g := range regroup {
		p.Queue.Set(app, g)
	}
	for _, app := range changed {
		p.notify(app)
	}
	return decisions
}

// explainGroup explains why app's tasks that wait were not placed; false
// when none waits or the Queue placed them all.
func (p *placer) explainGroup(app string, nodes []nodeOffer) (explanation, bool) {
	g := p.effective(app)
	if p.Queue.Unplaced(app) == "" {
		return explanation{}, false
	}
	waiting := 0
	for _, t := range g.Tasks {
		if _, ok := p.launched[t.Name]; !ok {
			waiting++
		}
	}
	if waiting == 0 {
		return explanation{}, false
	}
	return explain(unplaced{
		waiting: waiting, resources: g.Tasks[0].Spec.Resources, constraints: g.Constraints,
		placed: g.Placed, nodes: nodes,
	}), true
}

// remember records the nodes of offers as last seen now, and forgets nodes
// not seen for offerMemory.
func (p *placer) remember(offers []v1alpha1.Offer, now time.Time) {
	for _, n := range sdk.GroupByNode(offers) {
		p.nodes[n.Node] = seenNode{nodeOffer{node: n.Node, attributes: n.Attributes, free: n.Free}, now}
	}
	for name, n := range p.nodes {
		if now.Sub(n.at) > offerMemory {
			delete(p.nodes, name)
		}
	}
}

// recentNodes returns the remembered nodes, sorted by name.
func (p *placer) recentNodes() []nodeOffer {
	out := make([]nodeOffer, 0, len(p.nodes))
	for _, n := range p.nodes {
		out = append(out, n.nodeOffer)
	}
	slices.SortFunc(out, func(a, b nodeOffer) int { return strings.Compare(a.node, b.node) })
	return out
}
