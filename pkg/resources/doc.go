// Package resources is Meseta's resource arithmetic: a compact, exact value type
// for amounts of cpus, mem, disk, gpus and sets of ports, with the operations the
// allocator and the master need (add, subtract, containment, minimums, limits,
// dominant shares) and messages that say what is short by how much.
//
// A Vector holds integers (milli-CPUs, bytes, milli-GPUs) and a PortSet of
// sorted, non-overlapping ranges, so arithmetic is exact and cheap: no
// resource.Quantity in hot loops. Convert at the edges with FromAPI and ToAPI.
//
// The package depends only on k8s.io/apimachinery and the API types.
//
// Example:
//
//	free := resources.MustParse("cpus:4;mem:8Gi;ports:[31000-32000]")
//	task := resources.MustParse("cpus:0.5;mem:64Mi;ports:[31000]")
//	if task.Fits(free) {
//		free = free.Sub(task) // cpus 3.5, mem 8128Mi, ports [31001-32000]
//	} else {
//		fmt.Println("short of", free.Shortfall(task))
//	}
//	if d, short := free.Below(resources.DefaultMinAllocatable); short {
//		fmt.Println("free resources below minimum:", d) // e.g. "mem 10Mi < 32Mi"
//	}
//	share := used.DominantShare(clusterTotal) // max over resources of used/total
package resources
