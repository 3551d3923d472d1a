package allocator_test

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/allocator"
	"meseta.dev/meseta/pkg/resources"
)

func ExampleAllocate() {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	size := resources.MustParse("cpus:4;mem:8Gi;ports:[31000-31009]")
	plan := allocator.Allocate(&allocator.Snapshot{
		Now:  now,
		Seed: 1,
		Nodes: []allocator.Node{
			{Name: "node-a", Allocatable: size, Ready: true, Attributes: map[string]string{"rack": "r1"}},
			{Name: "node-b", Allocatable: size, Ready: true, Allocated: resources.MustParse("cpus:3;mem:2Gi")},
			{Name: "node-c", Allocatable: size, Ready: true, Unschedulable: true},
		},
		Roles: []allocator.Role{{Name: "team-a", Weight: 2}},
		Frameworks: []allocator.Framework{
			{Key: types.NamespacedName{Namespace: "team-a", Name: "analytics"}, Active: true,
				Allocated: resources.MustParse("cpus:2;mem:1Gi")},
			{Key: types.NamespacedName{Namespace: "team-b", Name: "batch"}, Active: true,
				Filters: []allocator.Filter{{Node: "node-a", Until: now.Add(time.Minute)}}},
		},
	})
	for _, o := range plan.Offers {
		fmt.Printf("%s on %s: %s\n", o.Framework, o.Node, o.Resources)
	}
	why, _ := plan.Explain(types.NamespacedName{Namespace: "team-b", Name: "batch"})
	fmt.Println(why)
	// Output:
	// team-a/analytics on node-a: cpus 4, mem 8Gi, ports [31000-31009]
	// team-b/batch on node-b: cpus 1, mem 6Gi, ports [31000-31009]
	// team-b/batch (role team-b): offers on 1 of 3 nodes
	//   1 node: node cordoned (node-c)
	//   1 node: declined until 2026-11-23T12:01:00Z (node-a)
}
