// Package health runs a task's health check, as a Mesos agent does: the first
// check after the check's delay, then one every interval, each failing after its
// timeout; a task that fails consecutiveFailures checks in a row after its grace
// period (or after its first healthy check, which ends the grace period early)
// is to be killed.
//
// The package has three parts:
//
//   - Spec (SpecFrom) is a v1alpha1.HealthCheck with Mesos' defaults filled in;
//   - Tracker is the pure counting of results: fed each check's outcome and time,
//     it returns the task's Result (healthy, failures in a row, whether to kill);
//   - Run drives a Prober (HTTP, TCP or Command) on a clock and reports every
//     change of the Result.
//
// Use by the agent:
//
//	spec := health.SpecFrom(task.Spec.HealthCheck)
//	prober, err := health.NewProber(spec, "127.0.0.1", exec)
//	go health.Run(ctx, clock.RealClock{}, spec, startedAt, prober, func(r health.Result) {
//		// record r, and kill the task when r.Kill
//	})
package health
