package frameworklifecycle

import (
	"time"

	"k8s.io/utils/clock"
)

// Defaults of Options and of the API.
const (
	// DefaultLeaseDuration is how long a renewal keeps a framework active when
	// its Lease has no leaseDurationSeconds.
	DefaultLeaseDuration = 15 * time.Second
	// DefaultFailoverTimeout is the failover timeout of a Framework without
	// one (the API defaults it to the same).
	DefaultFailoverTimeout = 10 * time.Minute
	// DefaultWorkers is how many frameworks are reconciled at once.
	DefaultWorkers = 4
	// DefaultTaskBatch is how long the changes of a framework's tasks are
	// gathered before the framework is reconciled.
	DefaultTaskBatch = 500 * time.Millisecond
)

// Options configure the framework lifecycle controller. The zero value of
// each field means its default.
type Options struct {
	// Workers is how many frameworks are reconciled at once.
	Workers int
	// TaskBatch is how long the changes of a framework's tasks are gathered
	// before the framework is reconciled: a framework launching thousands of
	// tasks is looked at (all its tasks counted) about once per TaskBatch,
	// not once per task update.
	TaskBatch time.Duration
	// Clock is the time source.
	Clock clock.PassiveClock
}

func (o Options) complete() Options {
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.TaskBatch <= 0 {
		o.TaskBatch = DefaultTaskBatch
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	return o
}
