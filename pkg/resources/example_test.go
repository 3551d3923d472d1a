package resources_test

import (
	"fmt"

	"meseta.dev/meseta/pkg/resources"
)

func ExampleVector_Sub() {
	free := resources.MustParse("cpus:4;mem:8Gi;ports:[31000-32000]")
	task := resources.MustParse("cpus:0.5;mem:64Mi;ports:[31000]")
	if task.Fits(free) {
		free = free.Sub(task)
	}
	fmt.Println(free)
	// Output: cpus 3.5, mem 8128Mi, ports [31001-32000]
}

func ExampleVector_Shortfall() {
	free := resources.MustParse("cpus:1;mem:1Gi;ports:[31000-31005]")
	want := resources.MustParse("cpus:2;mem:512Mi;ports:[31005-31006]")
	fmt.Println("short of", free.Shortfall(want))
	// Output: short of cpus 1, ports [31006]
}

func ExampleVector_Below() {
	free := resources.MustParse("cpus:3;mem:10Mi")
	if d, short := free.Below(resources.DefaultMinAllocatable); short {
		fmt.Println("free resources below minimum:", d)
	}
	// Output: free resources below minimum: mem 10Mi < 32Mi
}

func ExampleVector_DominantShare() {
	total := resources.MustParse("cpus:100;mem:400Gi")
	used := resources.MustParse("cpus:10;mem:80Gi")
	name, share := used.Dominant(total)
	fmt.Println(name, share)
	// Output: mem 0.2
}
