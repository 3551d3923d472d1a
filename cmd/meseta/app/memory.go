package app

import (
	"os"
	"runtime/debug"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"

	"meseta.dev/meseta/pkg/agent/hostresources"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/memlimit"
)

// applyMemoryLimit sets the process's soft memory limit from the master's
// --memory-limit, or its default (memlimit.Choose), and, when a limit bounds
// the heap, the collector's growth target (memlimit.GCPercent); it says which.
func applyMemoryLimit(o *master.Options) error {
	limit, source, err := memlimit.Choose(o.MemoryLimit, os.Getenv("GOMEMLIMIT"), hostresources.Detector{}.CgroupMemoryLimit)
	if err != nil {
		return err
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
		klog.InfoS("Soft memory limit set", "limit", resource.NewQuantity(limit, resource.BinarySI).String(), "from", source)
	}
	if percent := memlimit.GCPercent(limit > 0 || source == memlimit.FromGOMEMLIMIT, os.Getenv("GOGC")); percent > 0 {
		debug.SetGCPercent(percent)
		klog.InfoS("Garbage collector's growth target raised under the soft memory limit", "gcPercent", percent)
	}
	return nil
}
