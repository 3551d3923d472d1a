// Package allocatortest builds synthetic snapshots for benchmarks and tests of
// the allocator: clusters of the shape the Mesos allocator benchmarks use,
// with nested roles, limits, guarantees, filters and nodes in every state.
package allocatortest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/allocator"
	"meseta.dev/meseta/pkg/resources"
)

// Options shape a synthetic cluster.
type Options struct {
	// Nodes is the number of nodes.
	Nodes int
	// Frameworks is the number of frameworks.
	Frameworks int
	// FiltersPerFramework is the number of decline filters per framework, half of
	// them expired; 0 means 10.
	FiltersPerFramework int
	// OneRole puts every framework in one role, with no limits or guarantees:
	// the widest group of the fair-share tree.
	OneRole bool
	// Seed makes the cluster, and the snapshot's seed.
	Seed uint64
}

// Now is the time of every synthetic snapshot.
var Now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// NodeSize is what each synthetic node can allocate (GPU nodes have 4 GPUs
// more).
var NodeSize = resources.MustParse("cpus:32;mem:128Gi;disk:1Ti;ports:[31000-32000]")

// Cluster returns a snapshot with o.Nodes nodes, each up to 70% allocated and
// some with outstanding offers; 2% have GPUs, 1% are not ready and 1% are
// cordoned. Frameworks are spread over o.Frameworks/10 leaf roles in groups of
// five under parent roles, with weights 1 to 3; every fourth leaf role and every
// third parent has a limit, every seventh leaf role a guarantee. Of the
// frameworks 5% are inactive, 5% suppressed, 5% GPU-capable and 10% have their
// own minimum offer.
func Cluster(o Options) *allocator.Snapshot {
	rng := rand.New(rand.NewPCG(o.Seed, 42))
	s := &allocator.Snapshot{Now: Now, Seed: o.Seed}
	s.Nodes = make([]allocator.Node, o.Nodes)
	racks := make([]map[string]string, o.Nodes/40+1)
	for i := range racks {
		racks[i] = map[string]string{"rack": fmt.Sprintf("r%d", i), "zone": fmt.Sprintf("z%d", i%3)}
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		n.Name = fmt.Sprintf("node-%05d", i)
		n.Allocatable = NodeSize
		if i%50 == 7 {
			n.Allocatable.MilliGPUs = 4000
		}
		used := rng.Float64() * 0.7
		n.Allocated = resources.Vector{
			MilliCPUs: int64(used * float64(NodeSize.MilliCPUs)),
			Mem:       int64(used*float64(NodeSize.Mem)) &^ (1<<20 - 1),
			Disk:      int64(used*float64(NodeSize.Disk)) &^ (1<<20 - 1),
			Ports:     resources.NewPortSet(resources.PortRange{Begin: 31000, End: uint16(31000 + rng.IntN(10))}),
		}
		if rng.IntN(10) == 0 {
			n.Offered = resources.MustParse("cpus:1;mem:2Gi;ports:[31500-31510]")
		}
		n.Ready = i%100 != 3
		n.Unschedulable = i%100 == 5
		n.Attributes = racks[i/40]
	}

	leaves := max(1, o.Frameworks/10)
	groups := (leaves + 4) / 5
	total := NodeSize.Scalars()
	for k := range total {
		total[k] *= int64(o.Nodes)
	}
	share := func(frac float64) resources.Vector {
		var v [resources.NumScalars]int64
		for k := range v {
			v[k] = int64(frac * float64(total[k]))
		}
		return resources.FromScalars(v, nil)
	}
	for g := range groups {
		r := allocator.Role{Name: fmt.Sprintf("team-%d", g), Weight: float64(1 + g%3)}
		if g%3 == 2 {
			r.Limit = resources.LimitsFrom(share(1.5 / float64(groups)))
		}
		s.Roles = append(s.Roles, r)
	}
	leafNames := make([]string, leaves)
	for l := range leaves {
		leafNames[l] = fmt.Sprintf("team-%d.svc-%d", l/5, l%5)
		r := allocator.Role{Name: leafNames[l], Weight: float64(1 + l%3)}
		if l%4 == 1 {
			r.Limit = resources.Limits{}.With(resources.Cpus, share(2/float64(leaves)).MilliCPUs).With(resources.Mem, share(2/float64(leaves)).Mem)
		}
		if l%7 == 3 {
			r.Guarantee = resources.Vector{MilliCPUs: share(0.5 / float64(leaves)).MilliCPUs}
		}
		s.Roles = append(s.Roles, r)
	}

	filters := o.FiltersPerFramework
	if filters == 0 {
		filters = 10
	}
	bigMin := resources.MustParse("cpus:1;mem:1Gi")
	s.Frameworks = make([]allocator.Framework, o.Frameworks)
	for i := range s.Frameworks {
		f := &s.Frameworks[i]
		f.Key = types.NamespacedName{Namespace: fmt.Sprintf("ns-%d", i%97), Name: fmt.Sprintf("fw-%d", i)}
		f.Role = leafNames[i%leaves]
		if o.OneRole {
			f.Role = "everyone"
		}
		f.Active = i%20 != 4
		f.Suppressed = i%20 == 9
		f.GPUCapable = i%20 == 13
		held := rng.Float64() * 0.7 / float64(o.Frameworks)
		f.Allocated = share(held)
		if i%10 == 6 {
			f.MinAllocatable = &bigMin
		}
		for k := range filters {
			until := Now.Add(time.Duration(rng.IntN(60)+1) * time.Second)
			if k%2 == 1 {
				until = Now.Add(-time.Second)
			}
			f.Filters = append(f.Filters, allocator.Filter{Node: s.Nodes[rng.IntN(o.Nodes)].Name, Until: until})
		}
	}
	return s
}
