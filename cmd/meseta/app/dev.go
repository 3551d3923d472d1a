package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"meseta.dev/meseta/pkg/kubeconfig"
	"meseta.dev/meseta/pkg/master"
)

// devOptions are the options of `meseta dev`.
type devOptions struct {
	master *master.Options
	// agentFlags are the options of the dev cluster's agent.
	agent devAgentOptions
}

// devAgentOptions configure the agent that `meseta dev` runs beside the master.
type devAgentOptions struct {
	Runtime   string
	WorkDir   string
	Resources string
	NodeName  string
	Disabled  bool
}

// devAgent starts the dev cluster's agent; it is set when the agent is built in.
var devAgent func(ctx context.Context, m *master.Master, o devAgentOptions) (done <-chan struct{}, err error)

func newDevCommand() *cobra.Command {
	o := devOptions{master: master.NewOptions()}
	o.master.DataDir = "~/.meseta/dev"
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run an all-in-one development cluster: master, one agent and the built-in frameworks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd, o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.master.DataDir, "data-dir", o.master.DataDir, "Directory for everything the cluster writes; remove it to reset the cluster.")
	fs.IntVar(&o.master.Port, "port", o.master.Port, "Port of the API server (HTTPS).")
	fs.StringVar(&o.master.BindAddress, "bind-address", o.master.BindAddress, "IP address the API server listens on.")
	fs.DurationVar(&o.master.Scheduling.AllocationInterval, "allocation-interval", o.master.Scheduling.AllocationInterval, "How often the allocator makes offers.")
	fs.DurationVar(&o.master.Scheduling.NodeTimeout, "node-timeout", o.master.Scheduling.NodeTimeout, "A node without a heartbeat for this long is unreachable.")
	o.master.Scheduling.AddFrameworksFlag(fs)
	fs.StringVar(&o.agent.Runtime, "runtime", "", "OCI runtime binary of the agent (default: runc beside meseta, then on PATH).")
	fs.StringVar(&o.agent.WorkDir, "work-dir", "", "Work dir of the agent (default: DATA-DIR/agent).")
	fs.StringVar(&o.agent.Resources, "resources", "", "Resources of the agent's node (default: detected from the host).")
	fs.StringVar(&o.agent.NodeName, "node-name", "", "Name of the agent's node (default: the host name).")
	fs.BoolVar(&o.agent.Disabled, "no-agent", false, "Run no agent (a control plane only).")
	return cmd
}

func runDev(cmd *cobra.Command, o devOptions) error {
	cfg, err := masterConfig(o.master)
	if err != nil {
		return err
	}
	if err := applyMemoryLimit(o.master); err != nil {
		return err
	}
	// The agent stops first, while the API is still there to record its tasks'
	// final states; the master stops after it.
	agentCtx := klog.NewContext(signalContext(), klog.Background())
	masterCtx, stopMaster := context.WithCancel(klog.NewContext(context.Background(), klog.Background()))
	defer stopMaster()
	m, err := master.Start(masterCtx, cfg)
	if err != nil {
		return err
	}
	userPath := kubeconfig.UserPath()
	if err := copyFile(m.KubeconfigPath, userPath); err != nil {
		return err
	}
	var agentDone <-chan struct{}
	if devAgent != nil && !o.agent.Disabled {
		if o.agent.WorkDir == "" {
			o.agent.WorkDir = filepath.Join(cfg.Options.DataDir, "agent")
		}
		if agentDone, err = devAgent(agentCtx, m, o.agent); err != nil {
			return err
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), `
Meseta dev cluster is ready at %s
  data dir:   %s
  kubeconfig: %s (also %s)

Try:
  mesetactl get nodes
  mesetactl apply -f config/samples/
  kubectl --kubeconfig %s get tasks -A

Press Ctrl-C to stop the cluster and its containers.
`, cfg.ServerURL, cfg.Options.DataDir, userPath, m.KubeconfigPath, userPath)
	select {
	case <-agentCtx.Done():
	case <-m.Done():
		return m.Err()
	}
	if agentDone != nil {
		<-agentDone
	}
	stopMaster()
	<-m.Done()
	return m.Err()
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}
