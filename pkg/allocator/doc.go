// Package allocator is Meseta's allocator core: a pure function from a
// Snapshot of the cluster (nodes, roles, frameworks, decline filters) to a Plan
// of resource offers, with weighted Dominant Resource Fairness over
// hierarchical roles, quota limits and guarantees, as ARCHITECTURE.md §3 states
// them. It makes no API calls and keeps no state between cycles: the offer
// controller reads the world into a Snapshot, calls Allocate, and writes the
// Plan's offers.
//
// A cycle runs in two phases over the schedulable, ready nodes, in an order
// shuffled by Snapshot.Seed. In the guarantee phase only roles below their
// guarantee take part, each offered at most what it still lacks of each
// guaranteed resource. In the fair phase every role does, up to its limit. On
// each node the free resources (allocatable minus allocated minus offered) go
// to the first framework, in weighted DRF order, that may take them: siblings
// in the role tree by dominant share divided by weight, frameworks within a
// role by their own dominant share. A framework may not take a node when it is
// inactive or suppressed, has an unexpired decline filter for the node, lacks
// the GPUResources capability on a node with GPUs, or would get less than its
// minimum offer (the snapshot's MinAllocatable unless it has its own) after
// the limits of its role and the role's ancestors cut the offer. Only when a
// limit cuts an offer does the rest of the node go on to the next framework.
// Offered resources count as held at once, so shares stay fair within a cycle.
//
// Every (framework, node) pair that gets no offer has a Reason, kept as
// counters and a few example nodes per framework, so that a cycle over 10,000
// nodes and 1,000 frameworks takes milliseconds; Plan.Explain turns them into
// sentences on demand, for a condition that tells a starved framework why.
//
// Example:
//
//	min := resources.MustParse("cpus:0.01;mem:32Mi")
//	plan := allocator.Allocate(&allocator.Snapshot{
//		Now:  time.Now(),
//		Seed: cycle,
//		Nodes: []allocator.Node{{
//			Name: "node-a", Ready: true,
//			Allocatable: resources.MustParse("cpus:4;mem:8Gi;ports:[31000-32000]"),
//		}},
//		Roles: []allocator.Role{{Name: "team-a", Weight: 2, Limit: limits}},
//		Frameworks: []allocator.Framework{{
//			Key: types.NamespacedName{Namespace: "team-a", Name: "analytics"}, Active: true,
//		}},
//		MinAllocatable: &min,
//	})
//	for _, o := range plan.Offers {
//		// create an Offer object for o.Framework on o.Node holding o.Resources
//	}
//	why, _ := plan.Explain(types.NamespacedName{Namespace: "team-b", Name: "batch"})
//	fmt.Println(why.Summary()) // "no offers (3 nodes: declined until ...; 1 node: node cordoned)"
package allocator
