package app

import (
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"meseta.dev/meseta/config/crd"
	"meseta.dev/meseta/controllers"
	"meseta.dev/meseta/pkg/master"
)

func newMasterCommand() *cobra.Command {
	o := master.NewOptions()
	cmd := &cobra.Command{
		Use:   "master",
		Short: "Run a Meseta master: embedded etcd, the API server and the controllers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := masterConfig(o)
			if err != nil {
				return err
			}
			if err := applyMemoryLimit(o); err != nil {
				return err
			}
			ctx := klog.NewContext(signalContext(), klog.Background())
			m, err := master.Start(ctx, cfg)
			if err != nil {
				if ctx.Err() != nil {
					// Stopped by a signal while starting: a clean stop.
					return nil
				}
				return err
			}
			<-m.Done()
			return m.Err()
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// masterConfig completes and validates options and adds Meseta's CRDs and
// controllers.
func masterConfig(o *master.Options) (*master.Config, error) {
	completed, err := o.Complete()
	if err != nil {
		return nil, err
	}
	if err := completed.Validate(); err != nil {
		return nil, err
	}
	cfg, err := completed.Config()
	if err != nil {
		return nil, err
	}
	cfg.CRDs = crd.Served
	cfg.Controllers = controllers.All()
	return cfg, nil
}
