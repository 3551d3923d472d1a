package binding

import (
	"maps"
	"slices"

	"meseta.dev/meseta/pkg/resources"
)

// pool is a set of offers that bound tasks link together: a task bound on
// several offers draws on all of them at once, so every task bound on any
// of them shares what they hold. Offers that no bound task links stay in
// pools of their own, however the group's other tasks name them: a task that
// names offers a and b but is dropped does not let a task on b draw on a.
type pool struct {
	// offers are the pool's offers, sorted.
	offers []string
	// tasks are the tasks bound in the pool, in the order they were bound.
	tasks []string
	// have is what the offers hold, used what the tasks take.
	have, used resources.Vector
}

// pools splits the offers of the tasks bound so far into pools.
type pools struct {
	of    map[string]*pool // offer -> its pool
	order map[string]int   // task -> when it was bound
}

func newPools() *pools {
	return &pools{of: map[string]*pool{}, order: map[string]int{}}
}

// join returns the pool a task on the named offers would draw on: the pools
// its offers are in, merged, with its offers that are in none. It changes
// nothing; add does.
func (ps *pools) join(names []string, offers map[string]OfferView) *pool {
	p := &pool{}
	merged := map[*pool]bool{}
	for _, o := range names {
		q, ok := ps.of[o]
		switch {
		case !ok:
			if !slices.Contains(p.offers, o) {
				p.offers = append(p.offers, o)
				p.have = p.have.Add(offers[o].Resources)
			}
		case !merged[q]:
			merged[q] = true
			p.offers = append(p.offers, q.offers...)
			p.tasks = append(p.tasks, q.tasks...)
			p.have, p.used = p.have.Add(q.have), p.used.Add(q.used)
		}
	}
	slices.Sort(p.offers)
	slices.SortFunc(p.tasks, func(a, b string) int { return ps.order[a] - ps.order[b] })
	return p
}

// add binds a task that takes res in p, a pool join returned: p replaces
// the pools it merged.
func (ps *pools) add(p *pool, task string, res resources.Vector) {
	ps.order[task] = len(ps.order)
	p.tasks = append(p.tasks, task)
	p.used = p.used.Add(res)
	for _, o := range p.offers {
		ps.of[o] = p
	}
}

// offers returns every offer a bound task draws on, sorted.
func (ps *pools) offers() []string {
	return slices.Sorted(maps.Keys(ps.of))
}
