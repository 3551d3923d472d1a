package apps

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/cluster"

	"meseta.dev/meseta/pkg/sdk"
)

// newFrameworks returns the frameworks of the apps framework: one per
// namespace that has Apps, each an SDK driver with a placer, so that DRF is
// fair between namespaces. A namespace's framework runs while it has Apps,
// launching or not, so that its Lease keeps their tasks alive. notify asks
// for a reconcile of an App whose placement explanation changed.
func newFrameworks(cl cluster.Cluster, opts Options, notify func(ctx context.Context, namespace, app string)) *sdk.PerNamespace[*placer] {
	spec := func(string) sdk.Framework {
		return sdk.Framework{
			Name:            opts.FrameworkName,
			FailoverTimeout: opts.FailoverTimeout,
			LeaseDuration:   opts.LeaseDuration,
			RenewInterval:   opts.RenewInterval,
			Suppressed:      true, // until the placer has tasks
		}
	}
	return sdk.NewPerNamespace(cl, "apps", spec, func(ctx context.Context, ns string) *placer {
		return newPlacer(func(app string) { notify(ctx, ns, app) })
	})
}
