package health

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Mesos' defaults of a health check's timing, which the API also defaults to.
const (
	DefaultDelay               = 15 * time.Second
	DefaultInterval            = 10 * time.Second
	DefaultTimeout             = 20 * time.Second
	DefaultGracePeriod         = 10 * time.Second
	DefaultConsecutiveFailures = 3
)

// Spec is a health check with every default filled in.
type Spec struct {
	// Type is Command, HTTP or TCP.
	Type v1alpha1.HealthCheckType
	// Command is what a Command check runs in the container.
	Command []string
	// Port is the port of an HTTP or TCP check.
	Port int32
	// Path and Scheme are the request path and scheme of an HTTP check.
	Path   string
	Scheme v1alpha1.HTTPScheme
	// Delay is the time from the task's start to the first check.
	Delay time.Duration
	// Interval is the time between checks.
	Interval time.Duration
	// Timeout bounds one check.
	Timeout time.Duration
	// GracePeriod is the time after the task's start in which failures do not
	// count towards a kill.
	GracePeriod time.Duration
	// ConsecutiveFailures is how many failures in a row kill the task.
	ConsecutiveFailures int32
}

// SpecFrom returns hc with Mesos' defaults for the fields it leaves unset.
func SpecFrom(hc *v1alpha1.HealthCheck) Spec {
	s := Spec{
		Type: hc.Type, Command: hc.Command,
		Delay: duration(hc.Delay, DefaultDelay), Interval: duration(hc.Interval, DefaultInterval),
		Timeout: duration(hc.Timeout, DefaultTimeout), GracePeriod: duration(hc.GracePeriod, DefaultGracePeriod),
		ConsecutiveFailures: DefaultConsecutiveFailures,
	}
	if hc.ConsecutiveFailures != nil && *hc.ConsecutiveFailures > 0 {
		s.ConsecutiveFailures = *hc.ConsecutiveFailures
	}
	if s.Interval <= 0 {
		s.Interval = DefaultInterval
	}
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	switch {
	case hc.HTTP != nil:
		s.Port, s.Path, s.Scheme = hc.HTTP.Port, hc.HTTP.Path, hc.HTTP.Scheme
		if s.Path == "" {
			s.Path = "/"
		}
		if s.Scheme == "" {
			s.Scheme = v1alpha1.HTTPSchemeHTTP
		}
	case hc.TCP != nil:
		s.Port = hc.TCP.Port
	}
	return s
}

func duration(d *metav1.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.Duration
}

// Result is what the checks of a task have shown so far.
type Result struct {
	// Healthy is the outcome of the latest check.
	Healthy bool
	// ConsecutiveFailures counts the failed checks since the last healthy one
	// that count towards a kill (not those in the grace period).
	ConsecutiveFailures int32
	// Message describes the latest check.
	Message string
	// Kill is true once ConsecutiveFailures reached the spec's limit; it stays
	// true.
	Kill bool
}

// Tracker turns check outcomes into a Result. It is pure: it holds no clock and
// does no I/O, so every rule is table-tested.
type Tracker struct {
	spec      Spec
	started   time.Time
	succeeded bool // a check has passed: the grace period is over
	result    Result
	checked   bool
}

// NewTracker returns a tracker for a task that started at started.
func NewTracker(spec Spec, started time.Time) *Tracker {
	return &Tracker{spec: spec, started: started}
}

// Record adds the outcome of a check that finished at at (err nil for healthy)
// and returns the new Result and whether it differs from the previous one in
// Healthy or Kill (what the task's status shows).
func (t *Tracker) Record(err error, at time.Time) (Result, bool) {
	prev, first := t.result, !t.checked
	t.checked = true
	if t.result.Kill {
		return t.result, false
	}
	if err == nil {
		t.succeeded = true
		t.result = Result{Healthy: true, Message: "Health check passed"}
		return t.result, first || !prev.Healthy
	}
	t.result.Healthy = false
	inGrace := !t.succeeded && at.Before(t.started.Add(t.spec.GracePeriod))
	if inGrace {
		t.result.Message = fmt.Sprintf("Health check failed (in the grace period): %v", err)
	} else {
		t.result.ConsecutiveFailures++
		t.result.Message = fmt.Sprintf("Health check failed %d of %d times in a row: %v",
			t.result.ConsecutiveFailures, t.spec.ConsecutiveFailures, err)
		t.result.Kill = t.result.ConsecutiveFailures >= t.spec.ConsecutiveFailures
	}
	return t.result, first || prev.Healthy || t.result.Kill
}

// Result returns the latest result, and false before the first check.
func (t *Tracker) Result() (Result, bool) { return t.result, t.checked }
