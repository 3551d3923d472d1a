package allocator_test

import (
	"fmt"
	"testing"

	"meseta.dev/meseta/pkg/allocator"
	"meseta.dev/meseta/pkg/allocator/allocatortest"
)

// BenchmarkAllocate times one allocation cycle over the grid of the Mesos
// allocator benchmarks. The target is under 100 ms per cycle at 10,000 nodes
// and 1,000 frameworks (Mesos 2018: 1.06 s).
func BenchmarkAllocate(b *testing.B) {
	for _, nodes := range []int{1000, 10000} {
		for _, frameworks := range []int{10, 100, 1000} {
			b.Run(fmt.Sprintf("nodes=%d/frameworks=%d", nodes, frameworks), func(b *testing.B) {
				s := allocatortest.Cluster(allocatortest.Options{Nodes: nodes, Frameworks: frameworks, Seed: 1})
				offers := 0
				b.ReportAllocs()
				for b.Loop() {
					s.Seed++
					offers = len(allocator.Allocate(s).Offers)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/cycle")
				b.ReportMetric(float64(offers), "offers/cycle")
			})
		}
	}
}

// BenchmarkAllocateStress times cycles of 10,000 nodes and 1,000 frameworks in
// harder shapes: a million decline filters (each framework filters a tenth of
// the nodes, so most nodes pass over filtered frameworks first), and all
// frameworks in one role (the widest sorted group).
func BenchmarkAllocateStress(b *testing.B) {
	for _, o := range []struct {
		name string
		opts allocatortest.Options
	}{
		{"filters=1000000", allocatortest.Options{Nodes: 10000, Frameworks: 1000, FiltersPerFramework: 2000}},
		{"roles=1", allocatortest.Options{Nodes: 10000, Frameworks: 1000, OneRole: true}},
	} {
		b.Run(o.name, func(b *testing.B) {
			o.opts.Seed = 1
			s := allocatortest.Cluster(o.opts)
			b.ReportAllocs()
			for b.Loop() {
				s.Seed++
				allocator.Allocate(s)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/cycle")
		})
	}
}
