// Package memlimit chooses the soft memory limit of a Meseta process: the Go
// runtime's limit (the one GOMEMLIMIT sets), near which the garbage collector
// works harder so that the process stays within it, at the cost of CPU; and
// the collector's growth target (GOGC) that goes with it.
//
// A master holding a large cluster keeps much of it decoded in memory (the
// API server's watch cache, the controllers' caches), and the collector lets
// the heap grow to twice what is live before it runs: a limit holds the
// resident size near what the operator can give it instead. Choose gives the
// limit from the master's --memory-limit, or by default from the memory limit
// of the process's cgroup (v1 or v2) when it has one. Under a limit, TuneGC
// lets the heap grow further between collections (less CPU per write) while
// the cluster's state is small next to the limit: GCPercent keeps the
// collector's goal within half of it. The limit is of resident memory, and
// the runtime manages only part of it: the embedded etcd's database is a
// file mapped into memory, hundreds of MiB in a large cluster, resident
// beside the heap. TuneGC gives the runtime what those mapped pages
// (MappedResident) leave of the limit (RuntimeLimit), so that the process's
// resident size, not only its heap, stays near the limit. A growth target
// the operator chose (GOGC) is kept (Knobs.KeepGCPercent).
//
//	limit, source, err := memlimit.Choose(flagValue, os.Getenv("GOMEMLIMIT"),
//		hostresources.Detector{}.CgroupMemoryLimit)
//	if err == nil && limit > 0 {
//		debug.SetMemoryLimit(limit)
//		go memlimit.TuneGC(ctx, limit, memlimit.Knobs{Mapped: memlimit.MappedResident})
//	}
package memlimit
