package app

import (
	"context"
	"flag"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// NewRootCommand returns the meseta command with its subcommands.
func NewRootCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "meseta",
		Short:         "Meseta: a datacenter operating system with two-level scheduling",
		SilenceUsage:  true,
		SilenceErrors: false,
		PersistentPreRun: func(*cobra.Command, []string) {
			// In-process clients of the API server should not log its warnings.
			rest.SetDefaultWarningHandler(rest.NoWarnings{})
			// Code that logs through a context without a logger (the
			// frameworks' drivers, for one) logs through klog too.
			ctrllog.SetLogger(klog.Background())
		},
	}
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	cmd.PersistentFlags().AddGoFlag(klogFlags.Lookup("v"))
	cmd.AddCommand(newMasterCommand(), newDevCommand(), newVersionCommand())
	cmd.AddCommand(extraCommands()...)
	return cmd
}

// extraCommands are subcommands registered by other files (agent, framework...).
var extraCommandFuncs []func() *cobra.Command

func extraCommands() []*cobra.Command {
	var cmds []*cobra.Command
	for _, f := range extraCommandFuncs {
		cmds = append(cmds, f())
	}
	return cmds
}

// signalContext returns a context cancelled on the first SIGINT or SIGTERM; a
// second signal exits at once.
func signalContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		klog.Info("Shutting down; signal again to exit at once")
		cancel()
		<-ch
		os.Exit(1)
	}()
	return ctx
}
