package memlimit

import (
	"context"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Growth targets (GOGC) the tuner chooses between.
const (
	// DefaultGCPercent is the runtime's own: the heap may grow to twice what
	// is live before the collector runs again.
	DefaultGCPercent = 100
	// MaxGCPercent lets the heap grow to four times what is live. A master
	// under a burst of writes allocates fast and keeps little (request
	// bodies, decoded objects, patches): at 300 it spends about a fifth less
	// CPU per write than at 100.
	MaxGCPercent = 300
)

// HeadroomShare is the part of the soft limit the tuner lets the collector's
// goal reach: the rest is room for what is in flight. Close to the limit the
// collector runs as often as it must, and its work slows the requests, which
// then hold more memory in flight: growing the heap past what is live is
// worth its CPU only while the goal stays well within the limit.
const HeadroomShare = 0.5

// GCPercent returns the growth target for a live heap of live bytes under a
// soft limit of limit bytes: the largest, up to MaxGCPercent, whose goal,
// live x (1 + percent/100), stays within HeadroomShare of the limit, and
// never less than DefaultGCPercent (the limit itself caps the heap then).
// Without a limit (limit <= 0, or math.MaxInt64, the runtime's "no limit"
// that GOMEMLIMIT=off leaves) or before anything is live it is the default
// and MaxGCPercent respectively.
func GCPercent(live, limit int64) int {
	if !Bounded(limit) {
		return DefaultGCPercent
	}
	if live <= 0 {
		return MaxGCPercent
	}
	percent := 100 * (HeadroomShare*float64(limit)/float64(live) - 1)
	return int(math.Max(DefaultGCPercent, math.Min(MaxGCPercent, math.Floor(percent))))
}

// Bounded reports whether limit is a soft limit at all.
func Bounded(limit int64) bool { return limit > 0 && limit < math.MaxInt64 }

// TuneInterval is how often TuneGC looks at the live heap.
const TuneInterval = time.Second

// liveHeapMetric is the runtime's measure of the heap the last collection
// found live.
const liveHeapMetric = "/gc/heap/live:bytes"

// Knobs are what TuneGC reads and sets. A nil setter is the runtime's own
// (debug.SetGCPercent, debug.SetMemoryLimit); a nil Mapped counts no mapped
// memory, so the runtime keeps the limit it was given.
type Knobs struct {
	SetGCPercent   func(percent int) int
	SetMemoryLimit func(bytes int64) int64
	// Mapped returns the resident memory the runtime does not manage
	// (MappedResident).
	Mapped func() (int64, error)
	// KeepGCPercent leaves the growth target as it is (the user's GOGC):
	// TuneGC then only gives the runtime what Mapped leaves of the limit.
	KeepGCPercent bool
}

// LimitStep is the least change of the runtime's limit TuneGC makes: mapped
// pages come and go by the page, and a limit that moved with each would only
// be noise.
const LimitStep = 16 << 20

// TuneGC holds the process within limit bytes of resident memory, every
// TuneInterval until ctx is done: it gives the Go runtime the part of the
// limit that mapped file pages leave (RuntimeLimit of knobs.Mapped), and sets
// the collector's growth target from the live heap under that (GCPercent):
// four times what is live while the cluster's state is small next to the
// limit, twice as it grows, unless knobs.KeepGCPercent. It returns at once
// without a limit (a process without a limit keeps the runtime's default, so
// that its heap stays within twice what is live), or with nothing to tune.
func TuneGC(ctx context.Context, limit int64, knobs Knobs) {
	if !Bounded(limit) || (knobs.KeepGCPercent && knobs.Mapped == nil) {
		return
	}
	if knobs.SetGCPercent == nil {
		knobs.SetGCPercent = debug.SetGCPercent
	}
	if knobs.SetMemoryLimit == nil {
		knobs.SetMemoryLimit = debug.SetMemoryLimit
	}
	sample := []metrics.Sample{{Name: liveHeapMetric}}
	percent, runtimeLimit := 0, limit
	tune := func() {
		if knobs.Mapped != nil {
			mapped, err := knobs.Mapped()
			if err != nil {
				mapped = 0
			}
			if l := nextRuntimeLimit(limit, runtimeLimit, mapped); l != runtimeLimit {
				knobs.SetMemoryLimit(l)
				runtimeLimit = l
			}
		}
		if knobs.KeepGCPercent {
			return
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if p := GCPercent(int64(sample[0].Value.Uint64()), runtimeLimit); p != percent {
			knobs.SetGCPercent(p)
			percent = p
		}
	}
	tune()
	t := time.NewTicker(TuneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tune()
		}
	}
}

// nextRuntimeLimit returns the runtime's limit to set under limit, with
// current set now and mapped bytes of file pages resident: RuntimeLimit, or
// current while that moved less than LimitStep from it.
func nextRuntimeLimit(limit, current, mapped int64) int64 {
	next := RuntimeLimit(limit, mapped)
	if d := next - current; d > -LimitStep && d < LimitStep {
		return current
	}
	return next
}
