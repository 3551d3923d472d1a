package allocator_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/pkg/allocator"
	"meseta.dev/meseta/pkg/resources"
)

// simulate runs cycles in which every framework accepts every offer: it
// launches as many tasks of its size as the offer holds and returns the rest.
// It stops when a cycle launches nothing, and returns the frameworks' dominant
// shares then.
func simulate(s *allocator.Snapshot, tasks []resources.Vector) []float64 {
	var p *allocator.Plan
	for cycle := 0; cycle < 1000; cycle++ {
		s.Seed = uint64(cycle)
		p = allocator.Allocate(s)
		launched := false
		for _, o := range p.Offers {
			task, rest := tasks[o.FrameworkIndex], o.Resources
			for task.Fits(rest) {
				rest = rest.Sub(task)
				s.Frameworks[o.FrameworkIndex].Allocated = s.Frameworks[o.FrameworkIndex].Allocated.Add(task)
				s.Nodes[o.NodeIndex].Allocated = s.Nodes[o.NodeIndex].Allocated.Add(task)
				launched = true
			}
		}
		if !launched {
			break
		}
	}
	shares := make([]float64, len(p.Frameworks))
	for i, f := range p.Frameworks {
		shares[i] = f.Share
	}
	return shares
}

// TestFairnessConverges checks that frameworks which accept every offer end
// with weighted dominant shares within one offer of each other. An offer holds
// a whole node, so "one offer" is a node's dominant share divided by the
// weight, plus one task for what does not fill a node evenly.
func TestFairnessConverges(t *testing.T) {
	tests := []struct {
		name          string
		weights       []float64
		tasks         []string
		sameRole      bool
		heterogeneous bool
	}{
		{name: "equal weights, same role", weights: []float64{1, 1}, tasks: []string{"cpus:1;mem:1Gi", "cpus:1;mem:1Gi"}, sameRole: true},
		{name: "equal weights, cpu against mem", weights: []float64{1, 1}, tasks: []string{"cpus:2;mem:1Gi", "cpus:0.5;mem:4Gi"}},
		{name: "weights 2:1", weights: []float64{2, 1}, tasks: []string{"cpus:1;mem:2Gi", "cpus:1;mem:2Gi"}},
		{name: "weights 3:1, different sizes", weights: []float64{3, 1}, tasks: []string{"cpus:0.5;mem:512Mi", "cpus:1.5;mem:3Gi"}},
		{name: "three frameworks", weights: []float64{1, 2, 1}, tasks: []string{"cpus:1;mem:1Gi", "cpus:0.5;mem:3Gi", "cpus:1;mem:512Mi"}},
		{name: "uneven nodes", weights: []float64{1, 1}, tasks: []string{"cpus:1;mem:2Gi", "cpus:3;mem:1Gi"}, heterogeneous: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := &allocator.Snapshot{Now: now}
			for i := range 40 {
				spec := "cpus:8;mem:32Gi"
				if tt.heterogeneous && i%3 == 0 {
					spec = "cpus:16;mem:16Gi"
				}
				s.Nodes = append(s.Nodes, node(fmt.Sprintf("n%d", i), spec))
			}
			total := resources.Vector{}
			for _, n := range s.Nodes {
				total = total.Add(n.Allocatable)
			}
			tasks := make([]resources.Vector, len(tt.tasks))
			nodeShare := 0.0
			for _, n := range s.Nodes {
				nodeShare = max(nodeShare, n.Allocatable.DominantShare(total))
			}
			bound := 0.0
			for i, w := range tt.weights {
				role := fmt.Sprintf("r%d", i)
				if tt.sameRole {
					role = "r"
				} else {
					s.Roles = append(s.Roles, allocator.Role{Name: role, Weight: w})
				}
				s.Frameworks = append(s.Frameworks, fw(fmt.Sprintf("ns/f%d", i), role))
				tasks[i] = res(tt.tasks[i])
				bound = max(bound, (nodeShare+tasks[i].DominantShare(total))/w)
			}
			shares := simulate(s, tasks)
			// Weighted shares are within one task of each other.
			for i := range shares {
				for j := range shares {
					wi, wj := shares[i]/tt.weights[i], shares[j]/tt.weights[j]
					g.Expect(wi-wj).To(BeNumerically("<=", bound+1e-9),
						"weighted shares %v (weights %v)", shares, tt.weights)
				}
			}
		})
	}
}

// TestLastOfferWentToThePoorest checks the DRF invariant of progressive
// filling on random clusters: whenever a framework got an offer, its role had
// the lowest weighted share among the roles and it had the lowest share in its
// role. So, after the cycle, its role's weighted share before its last offer is
// at most every other role's final weighted share, and likewise for its share
// within the role.
func TestLastOfferWentToThePoorest(t *testing.T) {
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 5))
		s := &allocator.Snapshot{Now: now, Seed: seed}
		for i := range 5 + r.IntN(40) {
			s.Nodes = append(s.Nodes, node(fmt.Sprintf("n%d", i), fmt.Sprintf("cpus:%d;mem:%dGi", 1+r.IntN(16), 1+r.IntN(64))))
		}
		roles := 1 + r.IntN(4)
		weights := map[string]float64{}
		for k := range roles {
			name := fmt.Sprintf("r%d", k)
			weights[name] = float64(1 + r.IntN(4))
			s.Roles = append(s.Roles, allocator.Role{Name: name, Weight: weights[name]})
		}
		for i := range 1 + r.IntN(8) {
			f := fw(fmt.Sprintf("ns/f%d", i), fmt.Sprintf("r%d", r.IntN(roles)))
			f.Allocated = res(fmt.Sprintf("cpus:%d;mem:%dGi", r.IntN(20), r.IntN(80)))
			s.Frameworks = append(s.Frameworks, f)
		}
		p := allocator.Allocate(s)

		total := resources.Vector{}
		for _, n := range s.Nodes {
			total = total.Add(n.Allocatable)
		}
		final := map[string]resources.Vector{} // by framework and by role
		last := map[string]resources.Vector{}
		for _, f := range s.Frameworks {
			final[f.Key.String()] = final[f.Key.String()].Add(f.Allocated)
			final[f.Role] = final[f.Role].Add(f.Allocated)
		}
		for _, o := range p.Offers {
			final[o.Framework.String()] = final[o.Framework.String()].Add(o.Resources)
			final[o.Role] = final[o.Role].Add(o.Resources)
			last[o.Framework.String()] = o.Resources
			last[o.Role] = o.Resources
		}
		for _, f := range s.Frameworks {
			lo, ok := last[f.Key.String()]
			if !ok {
				continue
			}
			role := f.Role
			roleBefore := final[role].Sub(last[role]).DominantShare(total) / weights[role]
			for other := range weights {
				if other != role && hasFrameworks(s, other) {
					if theirs := final[other].DominantShare(total) / weights[other]; roleBefore > theirs+1e-12 {
						t.Fatalf("seed %d: role %s got an offer at weighted share %v while role %s had %v\n%v",
							seed, role, roleBefore, other, theirs, offerList(p))
					}
				}
			}
			mine := final[f.Key.String()].Sub(lo).DominantShare(total)
			for _, g := range s.Frameworks {
				if g.Role == role && g.Key != f.Key {
					if theirs := final[g.Key.String()].DominantShare(total); mine > theirs+1e-12 {
						t.Fatalf("seed %d: %s got an offer at share %v while %s in its role had %v", seed, f.Key, mine, g.Key, theirs)
					}
				}
			}
		}
	}
}

func hasFrameworks(s *allocator.Snapshot, role string) bool {
	for _, f := range s.Frameworks {
		if f.Role == role {
			return true
		}
	}
	return false
}
