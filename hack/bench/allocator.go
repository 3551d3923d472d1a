package main

import (
	"context"
	"fmt"
	"time"

	"meseta.dev/meseta/pkg/allocator"
	"meseta.dev/meseta/pkg/allocator/allocatortest"
)

// benchAllocatorCore times pure allocation cycles over the grid of the Mesos
// allocator benchmarks: the mean of as many cycles as fit in a second (at
// least three), after one warm-up cycle.
func benchAllocatorCore(_ context.Context, env *env) {
	nodes, frameworks := []int{1000, 10000}, []int{10, 100, 1000}
	if env.short {
		nodes, frameworks = []int{1000}, []int{10, 1000}
	}
	for _, n := range nodes {
		for _, f := range frameworks {
			s := allocatortest.Cluster(allocatortest.Options{Nodes: n, Frameworks: f, Seed: 1})
			allocator.Allocate(s)
			var (
				cycles int
				offers int
				start  = time.Now()
			)
			for cycles < 3 || time.Since(start) < time.Second {
				s.Seed++
				offers = len(allocator.Allocate(s).Offers)
				cycles++
			}
			perCycle := time.Since(start) / time.Duration(cycles)
			row := Row{Scenario: "allocator-core", Params: fmt.Sprintf("nodes=%d frameworks=%d", n, f),
				Measure: "cycle time", Value: ms(perCycle), Unit: "ms/cycle",
				Note: fmt.Sprintf("%d cycles, %d offers/cycle", cycles, offers)}
			if n == 10000 && f == 1000 {
				row.Target, row.Met = target("< 100", row.Value, 100, true)
			}
			env.report.add(row)
		}
	}
}
