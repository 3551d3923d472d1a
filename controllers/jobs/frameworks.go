package jobs

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/cluster"

	"meseta.dev/meseta/pkg/sdk"
)

// newFrameworks returns the frameworks of the jobs framework: one per
// namespace that has Jobs, each an SDK driver with a Queue, so that DRF is
// fair between namespaces.
func newFrameworks(cl cluster.Cluster, opts Options) *sdk.PerNamespace[*sdk.Queue] {
	spec := func(string) sdk.Framework {
		return sdk.Framework{
			Name:            opts.FrameworkName,
			FailoverTimeout: opts.FailoverTimeout,
			LeaseDuration:   opts.LeaseDuration,
			RenewInterval:   opts.RenewInterval,
			Suppressed:      true, // until the queue has tasks
		}
	}
	return sdk.NewPerNamespace(cl, "jobs", spec, func(context.Context, string) *sdk.Queue {
		return sdk.NewQueue(sdk.QueueOptions{})
	})
}
