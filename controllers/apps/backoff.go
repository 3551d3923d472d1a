package apps

import (
	"math"
	"time"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Defaults of an App's spec.backoff, as the API defaults them.
const (
	defaultBackoffInitial = time.Second
	defaultBackoffFactor  = 1.15
	defaultBackoffMax     = 300 * time.Second
)

// DefaultBackoffReset is how long a task must run before its failure no
// longer grows the App's backoff: the next delay starts from initialSeconds.
const DefaultBackoffReset = time.Minute

// DeploymentFailedAfter is the failure streak at which a deployment that is
// not complete is Failed: an instance of the current version has failed this
// many times in a row and its relaunch is not yet healthy. The framework
// keeps relaunching it with backoff; the deployment is Progressing again (or
// Complete) once the relaunched instance is healthy.
const DeploymentFailedAfter int32 = 3

// backoff is an App's spec.backoff with defaults applied: after a streak of
// n failures in a row, launches wait initial * factor^(n-1), at most max.
type backoff struct {
	initial, max time.Duration
	factor       float64
	// resetAfter: a task that ran this long before it failed restarts the
	// streak at one.
	resetAfter time.Duration
}

// backoffOf applies the defaults to spec.backoff.
func backoffOf(b *v1alpha1.Backoff, resetAfter time.Duration) backoff {
	out := backoff{initial: defaultBackoffInitial, max: defaultBackoffMax, factor: defaultBackoffFactor, resetAfter: resetAfter}
	if b == nil {
		return out
	}
	if b.InitialSeconds != nil {
		out.initial = time.Duration(max(0, *b.InitialSeconds)) * time.Second
	}
	if b.MaxSeconds != nil {
		out.max = time.Duration(max(0, *b.MaxSeconds)) * time.Second
	}
	if b.Factor != nil {
		out.factor = max(1, b.Factor.AsApproximateFloat64())
	}
	return out
}

// delay returns how long launches wait after streak failures in a row.
func (b backoff) delay(streak int32) time.Duration {
	if streak <= 0 || b.initial <= 0 {
		return 0
	}
	d := float64(b.initial) * math.Pow(b.factor, float64(streak-1))
	if d >= float64(b.max) || math.IsInf(d, 1) || math.IsNaN(d) {
		return b.max
	}
	return time.Duration(d)
}
