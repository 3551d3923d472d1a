package app

import (
	"context"
	"os"
	"runtime/debug"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"

	"meseta.dev/meseta/pkg/agent/hostresources"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/memlimit"
)

// applyMemoryLimit sets the process's soft memory limit from the master's
// --memory-limit, or its default (memlimit.Choose), and says which. Under a
// limit it tunes the collector for the life of the process
// (memlimit.TuneGC): its growth target, unless GOGC is set, and, for a limit
// of --memory-limit or the cgroup's, the runtime's share of it, so that the
// embedded etcd's mapped database counts within the limit. GOMEMLIMIT is
// the runtime's own limit and stays as given.
func applyMemoryLimit(o *master.Options) error {
	limit, source, err := memlimit.Choose(o.MemoryLimit, os.Getenv("GOMEMLIMIT"), hostresources.Detector{}.CgroupMemoryLimit)
	if err != nil {
		return err
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
		klog.InfoS("Soft memory limit set", "limit", resource.NewQuantity(limit, resource.BinarySI).String(), "from", source)
	}
	if source == memlimit.FromGOMEMLIMIT {
		limit = debug.SetMemoryLimit(-1) // the runtime's, read from GOMEMLIMIT
	}
	if !memlimit.Bounded(limit) {
		return nil
	}
	knobs := memlimit.Knobs{KeepGCPercent: os.Getenv("GOGC") != ""}
	if source != memlimit.FromGOMEMLIMIT {
		knobs.Mapped = memlimit.MappedResident
	}
	if !knobs.KeepGCPercent {
		klog.InfoS("Garbage collector's growth target tuned to the live heap under the soft memory limit",
			"max", memlimit.MaxGCPercent, "min", memlimit.DefaultGCPercent, "mappedFilesWithinLimit", knobs.Mapped != nil)
	} else if knobs.Mapped != nil {
		klog.InfoS("Garbage collector's growth target is GOGC's; mapped files count within the soft memory limit")
	}
	go memlimit.TuneGC(context.Background(), limit, knobs)
	return nil
}
