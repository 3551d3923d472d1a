package memlimit

// BoundedGCPercent is the collector's growth target (GOGC) of a process whose
// heap a soft limit bounds: the heap may grow to four times what is live
// before the collector runs again, instead of twice. A master under a burst
// of writes allocates fast and keeps little (request bodies, decoded objects,
// patches), so at the runtime's default of 100 it collects several times a
// second; at 300 it spends about a fifth less CPU per write. The soft limit,
// not the growth target, then caps the resident size: near the limit the
// collector runs as often as it must.
const BoundedGCPercent = 300

// GCPercent returns the growth target to set: BoundedGCPercent when a soft
// limit is in effect (limited) and GOGC is not set; otherwise zero, to keep the
// runtime's own (GOGC's, or 100), so that the heap of a process without a
// limit stays within twice what is live.
func GCPercent(limited bool, gogc string) int {
	if gogc != "" || !limited {
		return 0
	}
	return BoundedGCPercent
}
