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

// TuneGC sets the collector's growth target from the live heap, under a soft
// limit of limit bytes, every TuneInterval until ctx is done (GCPercent):
// four times what is live while the cluster's state is small next to the
// limit, twice as it grows. set is called with each new target
// (debug.SetGCPercent when nil). It returns at once without a limit: a
// process without a limit keeps the runtime's default, so that its heap
// stays within twice what is live.
func TuneGC(ctx context.Context, limit int64, set func(int) int) {
	if !Bounded(limit) {
		return
	}
	if set == nil {
		set = debug.SetGCPercent
	}
	sample := []metrics.Sample{{Name: liveHeapMetric}}
	current := 0
	tune := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		if p := GCPercent(int64(sample[0].Value.Uint64()), limit); p != current {
			set(p)
			current = p
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
