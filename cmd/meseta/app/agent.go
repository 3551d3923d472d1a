package app

import (
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"meseta.dev/meseta/pkg/agent"
)

func init() {
	extraCommandFuncs = append(extraCommandFuncs, newAgentCommand)
}

func newAgentCommand() *cobra.Command {
	o := agent.NewOptions()
	var sim simulateOptions
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a Meseta agent: register this machine as a Node and run the tasks bound to it in runc containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sim.Nodes > 0 {
				return runSimulatedAgents(klog.NewContext(signalContext(), klog.Background()), o, sim)
			}
			completed, err := o.Complete()
			if err != nil {
				return err
			}
			if err := completed.Validate(); err != nil {
				return err
			}
			ctx := klog.NewContext(signalContext(), klog.Background())
			if err := completed.JoinCluster(ctx); err != nil {
				if ctx.Err() != nil {
					return nil // stopped by a signal while joining
				}
				return err
			}
			cfg, err := completed.Config()
			if err != nil {
				return err
			}
			a, err := agent.Start(ctx, cfg)
			if err != nil {
				if ctx.Err() != nil {
					return nil // stopped by a signal while starting
				}
				return err
			}
			<-a.Done()
			return a.Err()
		},
	}
	o.AddFlags(cmd.Flags())
	sim.addFlags(cmd.Flags())
	return cmd
}
