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
type placer struct {
	*sdk.Queue
	notify func(app string)
	now    func() time.Time

	mu       sync.Mutex
	groups   map[string]sdk.Group   // by App name
	launched map[string]bool        // names of tasks launched, still in groups
	nodes    map[string]seenNode    // by node name
	why      map[string]explanation // by App name
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
		groups: map[string]sdk.Group{}, launched: map[string]bool{},
		nodes: map[string]seenNode{}, why: map[string]explanation{},
	}
}

// Set replaces the tasks to launch of app; a Group without tasks removes it.
func (p *placer) Set(app string, g sdk.Group) {
	p.mu.Lock()
	keep := map[string]bool{}
	for _, t := range g.Tasks {
		keep[t.Name] = true
	}
	for _, t := range p.groups[app].Tasks {
		if !keep[t.Name] {
			delete(p.launched, t.Name)
		}
	}
	if len(g.Tasks) == 0 {
		delete(p.groups, app)
		delete(p.why, app)
	} else {
		p.groups[app] = g
	}
	p.mu.Unlock()
	p.Queue.Set(app, g)
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
	for _, dec := range decisions {
		if l, ok := dec.(sdk.Launch); ok {
			for _, t := range l.Tasks {
				p.launched[t.Name] = true
			}
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
	for _, app := range changed {
		p.notify(app)
	}
	return decisions
}

// explainGroup explains why app's tasks that wait were not placed; false
// when none waits or the Queue placed them all.
func (p *placer) explainGroup(app string, nodes []nodeOffer) (explanation, bool) {
	g := p.groups[app]
	if p.Queue.Unplaced(app) == "" {
		return explanation{}, false
	}
	waiting := 0
	for _, t := range g.Tasks {
		if !p.launched[t.Name] {
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
