package health

import (
	"context"
	"time"

	"k8s.io/utils/clock"
)

// Run checks a task that started at started with prober, on the clock: first
// at started+Delay, then every Interval, each check bounded by Timeout. It
// calls report with the Result after the first check and whenever Healthy or
// Kill changes, and returns once the Result says Kill or ctx ends.
func Run(ctx context.Context, clk clock.WithTicker, spec Spec, started time.Time, prober Prober, report func(Result)) {
	tracker := NewTracker(spec, started)
	wait := started.Add(spec.Delay).Sub(clk.Now())
	for {
		if wait > 0 {
			timer := clk.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C():
			}
		}
		if ctx.Err() != nil {
			return
		}
		begin := clk.Now()
		checkCtx, cancel := context.WithTimeout(ctx, spec.Timeout)
		err := prober.Probe(checkCtx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		result, changed := tracker.Record(err, clk.Now())
		if changed {
			report(result)
		}
		if result.Kill {
			return
		}
		wait = begin.Add(spec.Interval).Sub(clk.Now())
	}
}
