package binding

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/pkg/resources"
)

// TestDecidePools checks that a task draws only on the offers it names and
// on the offers that tasks bound with it link to them: a task that shares
// offers with others but is dropped links nothing.
func TestDecidePools(t *testing.T) {
	tests := []struct {
		name   string
		tasks  []TaskView
		offers map[string]OfferView
		binds  []Bind // Resources are not compared
		drops  []Drop
	}{{
		name: "a dropped task does not pool the offers it names",
		tasks: []TaskView{tv("t1", 0, "cpus:1", "a"), tv("t2", 1, "cpus:1", "b"),
			tv("link", 2, "cpus:2", "a", "b")},
		offers: offersOf(ov("a", "n1", "cpus:2"), ov("b", "n1", "cpus:0.5")),
		binds:  []Bind{{Node: "n1", Accept: []string{"a"}, Tasks: []string{"t1"}, OfferTasks: map[string][]string{"a": {"t1"}}}},
		drops: []Drop{
			dropped("t2", "offer b holds cpus 0.5 but the task needs cpus 1"),
			dropped("link", "offers a, b hold cpus 1.5 after task t1, but the task needs cpus 2"),
		},
	}, {
		name: "a task dropped earlier does not pool either",
		tasks: []TaskView{tv("link", 0, "cpus:3", "a", "b"), tv("t1", 1, "cpus:1", "a"),
			tv("t2", 2, "cpus:1", "b")},
		offers: offersOf(ov("a", "n1", "cpus:2"), ov("b", "n1", "cpus:0.5")),
		binds:  []Bind{{Node: "n1", Accept: []string{"a"}, Tasks: []string{"t1"}, OfferTasks: map[string][]string{"a": {"t1"}}}},
		drops: []Drop{
			dropped("link", "offers a, b hold cpus 2.5 but the task needs cpus 3"),
			dropped("t2", "offer b holds cpus 0.5 but the task needs cpus 1"),
		},
	}, {
		name:   "a bound task pools its offers for the tasks after it",
		tasks:  []TaskView{tv("link", 0, "cpus:1", "a", "b"), tv("t2", 1, "cpus:1", "b")},
		offers: offersOf(ov("a", "n1", "cpus:2"), ov("b", "n1", "cpus:0.5")),
		binds: []Bind{{Node: "n1", Accept: []string{"a", "b"}, Tasks: []string{"link", "t2"},
			OfferTasks: map[string][]string{"a": {"link"}, "b": {"link", "t2"}}}},
	}, {
		name: "ports are pooled the same way",
		tasks: []TaskView{tv("t1", 0, "cpus:0.1;ports:[31000]", "a"), tv("t2", 1, "cpus:0.1;ports:[31000]", "b"),
			tv("link", 2, "cpus:9", "a", "b")},
		offers: offersOf(ov("a", "n1", "cpus:1;ports:[31000]"), ov("b", "n1", "cpus:1;ports:[31001]")),
		binds:  []Bind{{Node: "n1", Accept: []string{"a"}, Tasks: []string{"t1"}, OfferTasks: map[string][]string{"a": {"t1"}}}},
		drops: []Drop{
			dropped("t2", "offer b holds ports [31001] but the task needs ports [31000]"),
			dropped("link", "offers a, b hold cpus 1.9 after task t1, but the task needs cpus 9"),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			out := Decide(tt.tasks, tt.offers)
			for i := range out.Binds {
				out.Binds[i].Resources = nil
			}
			g.Expect(out.Binds).To(Equal(tt.binds))
			g.Expect(out.Drops).To(Equal(tt.drops))
		})
	}
}

// TestDecideNeverOverusesOffers decides random launches on one node, with
// tasks that name one or two offers, and checks every outcome as the offers
// stress test checks the API: the offers that bound tasks link hold those
// tasks, and each task is either bound or dropped.
func TestDecideNeverOverusesOffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 3000 {
		offers := map[string]OfferView{}
		var names []string
		for i := range 2 + rng.IntN(3) {
			name := fmt.Sprintf("o%d", i)
			names = append(names, name)
			offers[name] = ov(name, "n1", fmt.Sprintf("cpus:%d00m;mem:%dMi;ports:[%d]", 1+rng.IntN(20), 64*(1+rng.IntN(20)), 31000+i))
		}
		var tasks []TaskView
		for i := range 2 + rng.IntN(6) {
			on := []string{names[rng.IntN(len(names))]}
			if rng.IntN(3) == 0 {
				on = append(on, names[rng.IntN(len(names))])
			}
			spec := fmt.Sprintf("cpus:%d00m;mem:%dMi", 1+rng.IntN(10), 64*(1+rng.IntN(10)))
			if rng.IntN(4) == 0 {
				spec += fmt.Sprintf(";ports:[%d]", 31000+rng.IntN(len(names)))
			}
			tasks = append(tasks, tv(fmt.Sprintf("t%d", i), rng.IntN(3), spec, slices.Compact(on)...))
		}
		out := Decide(tasks, offers)
		if err := checkOutcome(tasks, offers, out); err != nil {
			t.Fatalf("round %d: %v\ntasks: %+v\noffers: %+v\noutcome: %+v", round, err, tasks, offers, out)
		}
	}
}

// checkOutcome checks that every task is bound or dropped once, and that each
// set of offers linked by bound tasks holds the tasks bound on it.
func checkOutcome(tasks []TaskView, offers map[string]OfferView, out Outcome) error {
	byName := map[string]TaskView{}
	for _, tk := range tasks {
		byName[tk.Name] = tk
	}
	decided := map[string]int{}
	var bound []TaskView
	for _, b := range out.Binds {
		for _, name := range b.Tasks {
			decided[name]++
			bound = append(bound, byName[name])
		}
	}
	for _, d := range out.Drops {
		decided[d.Task]++
	}
	for _, tk := range tasks {
		if decided[tk.Name] != 1 {
			return fmt.Errorf("task %s decided %d times", tk.Name, decided[tk.Name])
		}
	}
	seen := map[string]bool{}
	for _, start := range bound {
		if seen[start.Offers[0]] {
			continue
		}
		var have, need resources.Vector
		counted := map[string]bool{}
		queue := []string{start.Offers[0]}
		for len(queue) > 0 {
			o := queue[0]
			queue = queue[1:]
			if seen[o] {
				continue
			}
			seen[o] = true
			have = have.Add(offers[o].Resources)
			for _, tk := range bound {
				if !slices.Contains(tk.Offers, o) || counted[tk.Name] {
					continue
				}
				counted[tk.Name] = true
				res, _ := resources.FromAPI(tk.Resources)
				if !need.Ports.Intersect(res.Ports).IsEmpty() {
					return fmt.Errorf("ports %s bound twice on offers linked to %s", need.Ports.Intersect(res.Ports), start.Offers[0])
				}
				need = need.Add(res)
				queue = append(queue, tk.Offers...)
			}
		}
		if !have.Contains(need) {
			return fmt.Errorf("offers linked to %s hold %s but their bound tasks need %s", start.Offers[0], have, need)
		}
	}
	return nil
}
