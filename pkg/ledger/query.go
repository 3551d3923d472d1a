package ledger

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"meseta.dev/meseta/pkg/resources"
)

// Node returns one node's line; ok is false when the ledger has no line for
// it.
func (l *Ledger) Node(name string) (NodeUsage, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, ok := l.nodes[name]
	if !ok {
		return NodeUsage{Name: name}, false
	}
	return n.usage(), true
}

func (n *node) usage() NodeUsage {
	return NodeUsage{
		Name: n.name, Known: n.known, Allocatable: n.allocatable,
		Allocated: n.allocated, Offered: n.offered, Tasks: len(n.tasks), Offers: len(n.offers),
	}
}

// Nodes returns every node's line, sorted by name.
func (l *Ledger) Nodes() []NodeUsage {
	l.mu.Lock()
	out := make([]NodeUsage, 0, len(l.nodes))
	for _, n := range l.nodes {
		out = append(out, n.usage())
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b NodeUsage) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Framework returns what a framework holds.
func (l *Ledger) Framework(key Key) Usage {
	l.mu.Lock()
	defer l.mu.Unlock()
	if u, ok := l.fws[key]; ok {
		return *u
	}
	return Usage{}
}

// Frameworks returns what every framework that holds something holds.
func (l *Ledger) Frameworks() map[Key]Usage {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[Key]Usage, len(l.fws))
	for k, u := range l.fws {
		out[k] = *u
	}
	return out
}

// Stats counts what the ledger holds.
type Stats struct {
	// Nodes, Offers and Tasks count the recorded nodes, outstanding offers and
	// tasks; Claimed counts the claimed offers.
	Nodes, Offers, Tasks, Claimed int
}

// Stats returns the ledger's counts.
func (l *Ledger) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := Stats{Nodes: len(l.nodes), Offers: len(l.offers), Tasks: len(l.tasks)}
	for _, e := range l.offers {
		if e.claimed {
			s.Claimed++
		}
	}
	return s
}

// check reports a node committed past its allocatable resources.
func (n *node) check() error {
	committed := n.allocated.Add(n.offered)
	if fitsScalars(n, resources.Vector{}) && n.allocatable.Ports.Contains(committed.Ports) &&
		n.allocated.Ports.Intersect(n.offered.Ports).IsEmpty() {
		return nil
	}
	return fmt.Errorf("node %s: allocated %s plus offered %s exceed allocatable %s: %w",
		n.name, orNothing(n.allocated), orNothing(n.offered), orNothing(n.allocatable), ErrOvercommit)
}

// Check verifies the ledger: that no node is committed past its allocatable
// resources, and that the running sums agree with the offers and tasks they
// add up. It returns every problem found, nil when there is none.
func (l *Ledger) Check() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for _, n := range l.nodes {
		if err := n.check(); err != nil {
			errs = append(errs, err)
		}
		var alloc, offered resources.Vector
		for k := range n.tasks {
			alloc = alloc.Add(l.tasks[k].Resources)
		}
		for k := range n.offers {
			offered = offered.Add(l.offers[k].Resources)
		}
		if !alloc.Equal(n.allocated) || !offered.Equal(n.offered) {
			errs = append(errs, fmt.Errorf("node %s: sums drifted: allocated %s (tasks add up to %s), offered %s (offers add up to %s)",
				n.name, n.allocated, alloc, n.offered, offered))
		}
	}
	fws := map[Key]*Usage{}
	for _, t := range l.tasks {
		u := fws[t.Framework]
		if u == nil {
			u = &Usage{}
			fws[t.Framework] = u
		}
		u.Allocated = u.Allocated.Add(scalars(t.Resources))
		u.Tasks++
	}
	for _, o := range l.offers {
		u := fws[o.Framework]
		if u == nil {
			u = &Usage{}
			fws[o.Framework] = u
		}
		u.Offered = u.Offered.Add(scalars(o.Resources))
		u.Offers++
	}
	for k, u := range fws {
		got := l.fws[k]
		if got == nil || !got.Allocated.Equal(u.Allocated) || !got.Offered.Equal(u.Offered) ||
			got.Tasks != u.Tasks || got.Offers != u.Offers {
			errs = append(errs, fmt.Errorf("framework %s: usage drifted", k))
		}
	}
	if len(fws) != len(l.fws) {
		errs = append(errs, fmt.Errorf("framework usage drifted: %d recorded, %d add up", len(l.fws), len(fws)))
	}
	return errors.Join(errs...)
}

// Holders returns what holds resources on one node: its outstanding offers
// and its tasks, each sorted by key.
func (l *Ledger) Holders(name string) (offers []OfferState, tasks []Task) {
	l.mu.Lock()
	if n, ok := l.nodes[name]; ok {
		for k := range n.offers {
			e := l.offers[k]
			offers = append(offers, OfferState{Offer: e.Offer, Claimed: e.claimed})
		}
		for k := range n.tasks {
			tasks = append(tasks, *l.tasks[k])
		}
	}
	l.mu.Unlock()
	slices.SortFunc(offers, func(a, b OfferState) int { return compareKeys(a.Key, b.Key) })
	slices.SortFunc(tasks, func(a, b Task) int { return compareKeys(a.Key, b.Key) })
	return offers, tasks
}

func compareKeys(a, b Key) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}
