package app

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"meseta.dev/meseta/controllers/apps"
	"meseta.dev/meseta/controllers/jobs"
	"meseta.dev/meseta/pkg/kubeconfig"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/sdk"
)

func init() {
	extraCommandFuncs = append(extraCommandFuncs, newFrameworkCommand)
	frameworkCommandFuncs = append(frameworkCommandFuncs, newAppsFrameworkCommand, newJobsFrameworkCommand)
}

// frameworkCommandFuncs are the subcommands of `meseta framework`, one per
// built-in framework, registered by init functions.
var frameworkCommandFuncs []func() *cobra.Command

func newFrameworkCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "framework",
		Short: "Run a built-in framework on its own, against a cluster, instead of inside the master",
		Args:  cobra.NoArgs,
	}
	for _, f := range frameworkCommandFuncs {
		cmd.AddCommand(f())
	}
	return cmd
}

// FrameworkOptions are the flags every standalone built-in framework takes.
type FrameworkOptions struct {
	// Kubeconfig is the cluster to use.
	Kubeconfig string
	// LeaderElect runs only one active instance among several.
	LeaderElect bool
	// LeaderElectionNamespace holds the leader election Lease.
	LeaderElectionNamespace string
}

// AddFlags adds the options' flags.
func (o *FrameworkOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "the kubeconfig of the cluster (default $KUBECONFIG, then ~/.meseta/kubeconfig)")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "elect a leader among several instances, so only one acts")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "the namespace of the leader election Lease")
}

// Complete fills the kubeconfig in.
func (o FrameworkOptions) Complete() FrameworkOptions {
	if o.Kubeconfig == "" {
		o.Kubeconfig = kubeconfig.DefaultPath()
	}
	return o
}

// Validate checks the options.
func (o FrameworkOptions) Validate() error {
	var errs []error
	if o.Kubeconfig == "" {
		errs = append(errs, errors.New("--kubeconfig: required"))
	}
	if o.LeaderElect && o.LeaderElectionNamespace == "" {
		errs = append(errs, errors.New("--leader-election-namespace: required with --leader-elect"))
	}
	return errors.Join(errs...)
}

// manager returns a controller manager for a framework named id.
func (o FrameworkOptions) manager(id string) (ctrl.Manager, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig: %w", err)
	}
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	return ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        sdk.Scheme(),
		Logger:                        klog.Background().WithName(id),
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              "meseta-framework-" + id,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
}

func newJobsFrameworkCommand() *cobra.Command {
	o := FrameworkOptions{LeaderElect: true, LeaderElectionNamespace: master.SystemNamespace}
	opts := jobs.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "Run the jobs framework (run-to-completion and cron Jobs) against a cluster",
		Long: "Run the built-in jobs framework on its own: it serves the Jobs of every namespace, " +
			"with one Framework per namespace, exactly as it does inside the master (turn that off there first).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := o.Complete()
			if err := o.Validate(); err != nil {
				return err
			}
			if opts.Backoff.Initial < 0 || opts.Backoff.Max < opts.Backoff.Initial {
				return fmt.Errorf("--backoff: %v and --max-backoff: %v must satisfy 0 <= backoff <= max-backoff", opts.Backoff.Initial, opts.Backoff.Max)
			}
			mgr, err := o.manager("jobs")
			if err != nil {
				return err
			}
			if _, err := jobs.New(mgr, opts); err != nil {
				return err
			}
			ctx := klog.NewContext(signalContext(), klog.Background())
			return mgr.Start(ctx)
		},
	}
	o.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&opts.FrameworkName, "framework-name", opts.FrameworkName, "the name of the Framework in each namespace with Jobs")
	cmd.Flags().DurationVar(&opts.Backoff.Initial, "backoff", opts.Backoff.Initial, "the delay before a failed task is retried the first time; it doubles with each failure")
	cmd.Flags().DurationVar(&opts.Backoff.Max, "max-backoff", opts.Backoff.Max, "the longest delay between retries")
	cmd.Flags().DurationVar(&opts.StartingWindow, "starting-window", opts.StartingWindow, "how late a scheduled run may still start")
	return cmd
}

func newAppsFrameworkCommand() *cobra.Command {
	o := FrameworkOptions{LeaderElect: true, LeaderElectionNamespace: master.SystemNamespace}
	opts := apps.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "apps",
		Short: "Run the apps framework (long-running services, like Marathon) against a cluster",
		Long: "Run the built-in apps framework on its own: it serves the Apps of every namespace, " +
			"with one Framework per namespace, exactly as it does inside the master (start the master with --frameworks=jobs or --frameworks= first).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := o.Complete()
			if err := o.Validate(); err != nil {
				return err
			}
			if opts.BackoffReset <= 0 {
				return fmt.Errorf("--backoff-reset: %v must be more than 0", opts.BackoffReset)
			}
			mgr, err := o.manager("apps")
			if err != nil {
				return err
			}
			if _, err := apps.New(mgr, opts); err != nil {
				return err
			}
			ctx := klog.NewContext(signalContext(), klog.Background())
			return mgr.Start(ctx)
		},
	}
	o.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&opts.FrameworkName, "framework-name", opts.FrameworkName, "the name of the Framework in each namespace with Apps")
	cmd.Flags().DurationVar(&opts.BackoffReset, "backoff-reset", opts.BackoffReset, "how long a task must run for its failure to restart its App's backoff from initialSeconds")
	return cmd
}
