package allocator_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/allocator"
	"meseta.dev/meseta/pkg/allocator/allocatortest"
	"meseta.dev/meseta/pkg/resources"
)

// randomSnapshot returns a small cluster with every feature in random
// amounts: nested roles with limits, guarantees and weights, frameworks in
// every state with filters and minimums, nodes in every state and partly used.
func randomSnapshot(seed uint64) *allocator.Snapshot {
	r := rand.New(rand.NewPCG(seed, 99))
	s := &allocator.Snapshot{Now: now, Seed: seed}
	vec := func(maxCPUs, maxMemGi int) resources.Vector {
		return resources.Vector{
			MilliCPUs: int64(r.IntN(maxCPUs*1000 + 1)),
			Mem:       int64(r.IntN(maxMemGi*1024+1)) << 20,
			Disk:      int64(r.IntN(4)) << 30,
			MilliGPUs: int64(r.IntN(2)) * int64(r.IntN(3)) * 1000,
		}
	}
	for i := range 1 + r.IntN(30) {
		alloc := vec(16, 64)
		alloc.Ports = resources.NewPortSet(resources.PortRange{Begin: 31000, End: uint16(31000 + r.IntN(20))})
		n := allocator.Node{Name: fmt.Sprintf("n%d", i), Allocatable: alloc, Ready: r.IntN(10) > 0, Unschedulable: r.IntN(10) == 0}
		n.Allocated = alloc.Min(vec(16, 64))
		n.Allocated.Ports = resources.NewPortSet(resources.PortRange{Begin: 31000, End: uint16(31000 + r.IntN(5))})
		if r.IntN(3) == 0 {
			n.Offered = vec(2, 4)
			n.Offered.Ports = resources.NewPortSet(resources.PortRange{Begin: 31010, End: 31012})
		}
		if r.IntN(20) == 0 && i > 0 {
			n.Name = "n0" // a repeated name
		}
		s.Nodes = append(s.Nodes, n)
	}
	roleNames := []string{"a", "a.x", "a.y", "a.x.deep", "b", "b.z", "c"}
	for _, name := range roleNames {
		if r.IntN(2) == 0 {
			continue
		}
		role := allocator.Role{Name: name, Weight: float64(r.IntN(4))}
		for _, n := range resources.Names {
			if r.IntN(3) == 0 {
				role.Limit = role.Limit.With(n, vec(40, 160).Get(n))
			}
		}
		if r.IntN(3) == 0 {
			role.Guarantee = vec(20, 80)
		}
		s.Roles = append(s.Roles, role)
	}
	for i := range 1 + r.IntN(12) {
		f := allocator.Framework{
			Key:        types.NamespacedName{Namespace: fmt.Sprintf("ns%d", r.IntN(3)), Name: fmt.Sprintf("f%d", i)},
			Role:       roleNames[r.IntN(len(roleNames))],
			Active:     r.IntN(8) > 0,
			Suppressed: r.IntN(8) == 0,
			GPUCapable: r.IntN(2) == 0,
			Allocated:  vec(20, 80),
		}
		if r.IntN(4) == 0 {
			f.Role = "" // the namespace
		}
		if r.IntN(3) == 0 {
			f.Offered = vec(2, 8)
		}
		if r.IntN(4) == 0 {
			m := vec(4, 8)
			m.Disk, m.MilliGPUs = 0, 0
			f.MinAllocatable = &m
		}
		for range r.IntN(4) {
			f.Filters = append(f.Filters, allocator.Filter{
				Node:  fmt.Sprintf("n%d", r.IntN(len(s.Nodes)+1)),
				Until: now.Add(time.Duration(r.IntN(21)-10) * time.Second),
			})
		}
		s.Frameworks = append(s.Frameworks, f)
	}
	if r.IntN(4) == 0 {
		m := vec(2, 2)
		s.MinAllocatable = &m
	}
	return s
}

// TestAllocateProperties checks the plan of many random snapshots against the
// invariants, by brute force.
func TestAllocateProperties(t *testing.T) {
	for seed := range uint64(3000) {
		s := randomSnapshot(seed)
		p := allocator.Allocate(s)
		if err := checkPlan(s, p); err != nil {
			t.Fatalf("seed %d: %v\noffers: %v", seed, err, offerList(p))
		}
		if !reflect.DeepEqual(s, randomSnapshot(seed)) {
			t.Fatalf("seed %d: Allocate modified the snapshot", seed)
		}
		if again := allocator.Allocate(s); !reflect.DeepEqual(offerList(again), offerList(p)) {
			t.Fatalf("seed %d: not deterministic", seed)
		}
	}
}

// TestAllocatePropertiesLarge checks the invariants on the benchmark's
// clusters.
func TestAllocatePropertiesLarge(t *testing.T) {
	for _, o := range []allocatortest.Options{
		{Nodes: 500, Frameworks: 10, Seed: 1},
		{Nodes: 1000, Frameworks: 200, Seed: 2},
		{Nodes: 2000, Frameworks: 1000, FiltersPerFramework: 50, Seed: 3},
	} {
		t.Run(fmt.Sprintf("%+v", o), func(t *testing.T) {
			s := allocatortest.Cluster(o)
			p := allocator.Allocate(s)
			if err := checkPlan(s, p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// checkPlan verifies a plan by brute force, independently of the allocator's
// data structures.
func checkPlan(s *allocator.Snapshot, p *allocator.Plan) error {
	globalMin := resources.DefaultMinAllocatable
	if s.MinAllocatable != nil {
		globalMin = *s.MinAllocatable
	}
	nodeIdx := map[string]int{}
	for i, n := range s.Nodes {
		if _, dup := nodeIdx[n.Name]; !dup {
			nodeIdx[n.Name] = i
		}
	}
	fwIdx := map[types.NamespacedName]int{}
	for i, f := range s.Frameworks {
		if _, dup := fwIdx[f.Key]; !dup {
			fwIdx[f.Key] = i
		}
	}
	filtered := func(f *allocator.Framework, node string) bool {
		for _, flt := range f.Filters {
			if flt.Node == node && flt.Until.After(s.Now) {
				return true
			}
		}
		return false
	}
	effMin := func(f *allocator.Framework) resources.Vector {
		if f.MinAllocatable != nil {
			return *f.MinAllocatable
		}
		return globalMin
	}

	// Role limits and consumption before the cycle, per role on each path.
	roles := map[string]allocator.Role{}
	for _, r := range s.Roles {
		if _, dup := roles[r.Name]; !dup {
			roles[r.Name] = r
		}
	}
	path := func(role string) []string {
		out := []string{role}
		for i := len(role) - 1; i >= 0; i-- {
			if role[i] == '.' {
				out = append(out, role[:i])
			}
		}
		return out
	}
	before, after := map[string]resources.Vector{}, map[string]resources.Vector{}
	for i := range s.Frameworks {
		f := &s.Frameworks[i]
		if fwIdx[f.Key] != i {
			continue
		}
		for _, r := range path(f.EffectiveRole()) {
			before[r] = before[r].Add(resources.FromScalars(f.Allocated.Add(f.Offered).Scalars(), nil))
		}
	}
	for r, v := range before {
		after[r] = v
	}

	offeredOn := map[int]resources.Vector{}
	seen := map[string]bool{}
	for _, o := range p.Offers {
		f := &s.Frameworks[o.FrameworkIndex]
		n := &s.Nodes[o.NodeIndex]
		switch {
		case f.Key != o.Framework || n.Name != o.Node || fwIdx[f.Key] != o.FrameworkIndex || nodeIdx[n.Name] != o.NodeIndex:
			return fmt.Errorf("offer %s@%s: wrong indices", o.Framework, o.Node)
		case seen[o.Framework.String()+"@"+o.Node]:
			return fmt.Errorf("two offers to %s on %s", o.Framework, o.Node)
		case !f.Active || f.Suppressed:
			return fmt.Errorf("offer to inactive or suppressed %s", o.Framework)
		case !n.Ready || n.Unschedulable:
			return fmt.Errorf("offer on unschedulable node %s", o.Node)
		case filtered(f, n.Name):
			return fmt.Errorf("offer to %s on %s despite its filter", o.Framework, o.Node)
		case n.Allocatable.MilliGPUs > 0 && !f.GPUCapable:
			return fmt.Errorf("GPU node %s offered to %s", o.Node, o.Framework)
		case o.Resources.IsZero():
			return fmt.Errorf("empty offer to %s on %s", o.Framework, o.Node)
		case o.Role != f.EffectiveRole():
			return fmt.Errorf("offer role %q, want %q", o.Role, f.EffectiveRole())
		case !reflect.DeepEqual(o.Attributes, n.Attributes):
			return fmt.Errorf("offer attributes %v, want %v", o.Attributes, n.Attributes)
		}
		if d, below := o.Resources.Below(effMin(f)); below {
			return fmt.Errorf("offer to %s on %s below its minimum: %s", o.Framework, o.Node, d)
		}
		seen[o.Framework.String()+"@"+o.Node] = true
		sum := offeredOn[o.NodeIndex]
		if !sum.Ports.Intersect(o.Resources.Ports).IsEmpty() {
			return fmt.Errorf("port offered twice on %s", o.Node)
		}
		offeredOn[o.NodeIndex] = sum.Add(o.Resources)
		for _, r := range path(o.Role) {
			after[r] = after[r].Add(resources.FromScalars(o.Resources.Scalars(), nil))
		}
	}
	for i, sum := range offeredOn {
		if free := s.Nodes[i].Free(); !free.Contains(sum) {
			return fmt.Errorf("node %s offered %s, more than its free %s", s.Nodes[i].Name, sum, free)
		}
	}
	for name, r := range roles {
		b, a := before[name], after[name]
		for _, n := range resources.Names {
			l, ok := r.Limit.Get(n)
			if !ok {
				continue
			}
			if b.Get(n) <= l && a.Get(n) > l {
				return fmt.Errorf("role %s went past its %s limit: %d > %d", name, n, a.Get(n), l)
			}
			if b.Get(n) > l && a.Get(n) != b.Get(n) {
				return fmt.Errorf("role %s over its %s limit got more", name, n)
			}
		}
	}

	// Nothing is left that some framework could still have taken (the fair phase
	// ends only when no framework may take any node's rest).
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if nodeIdx[n.Name] != i || !n.Ready || n.Unschedulable {
			continue
		}
		rest := n.Free().Sub(offeredOn[i])
		for j := range s.Frameworks {
			f := &s.Frameworks[j]
			if fwIdx[f.Key] != j || !f.Active || f.Suppressed || filtered(f, n.Name) || (n.Allocatable.MilliGPUs > 0 && !f.GPUCapable) {
				continue
			}
			capped := rest.Scalars()
			for _, r := range path(f.EffectiveRole()) {
				role, ok := roles[r]
				if !ok {
					continue
				}
				h := role.Limit.Headroom(after[r]).Scalars()
				for k := range capped {
					capped[k] = min(capped[k], h[k])
				}
			}
			offer := resources.FromScalars(capped, rest.Ports)
			if _, below := offer.Below(effMin(f)); !below && !offer.IsZero() {
				return fmt.Errorf("node %s still has %s that %s could take", n.Name, offer, f.Key)
			}
		}
	}

	// Explanations account for every node.
	for i := range s.Frameworks {
		f := &s.Frameworks[i]
		e, ok := p.Explain(f.Key)
		if !ok {
			return fmt.Errorf("no explanation for %s", f.Key)
		}
		if fwIdx[f.Key] != i {
			continue
		}
		if e.Nodes != len(nodeIdx) {
			return fmt.Errorf("explanation of %s counts %d nodes, want %d", f.Key, e.Nodes, len(nodeIdx))
		}
		offers := 0
		for _, o := range p.Offers {
			if o.FrameworkIndex == i {
				offers++
			}
		}
		if e.Offers != offers || p.Frameworks[i].Offers != offers {
			return fmt.Errorf("explanation of %s counts %d offers, want %d", f.Key, e.Offers, offers)
		}
		total := e.Offers
		for _, sk := range e.Skips {
			total += sk.Count
		}
		if total < e.Nodes {
			return fmt.Errorf("explanation of %s accounts for %d of %d nodes:\n%s", f.Key, total, e.Nodes, e)
		}
	}
	return nil
}

// FuzzAllocate checks the invariants on random snapshots chosen by the fuzzer:
// go test -fuzz FuzzAllocate ./pkg/allocator
func FuzzAllocate(f *testing.F) {
	for _, seed := range []uint64{0, 1, 68, 1651} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		s := randomSnapshot(seed)
		if err := checkPlan(s, allocator.Allocate(s)); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	})
}
