package cli

import (
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/kubectl/pkg/cmd/annotate"
	"k8s.io/kubectl/pkg/cmd/apiresources"
	"k8s.io/kubectl/pkg/cmd/apply"
	"k8s.io/kubectl/pkg/cmd/auth"
	"k8s.io/kubectl/pkg/cmd/clusterinfo"
	"k8s.io/kubectl/pkg/cmd/completion"
	cmdconfig "k8s.io/kubectl/pkg/cmd/config"
	"k8s.io/kubectl/pkg/cmd/create"
	"k8s.io/kubectl/pkg/cmd/delete"
	"k8s.io/kubectl/pkg/cmd/describe"
	"k8s.io/kubectl/pkg/cmd/diff"
	"k8s.io/kubectl/pkg/cmd/edit"
	"k8s.io/kubectl/pkg/cmd/explain"
	"k8s.io/kubectl/pkg/cmd/get"
	"k8s.io/kubectl/pkg/cmd/label"
	"k8s.io/kubectl/pkg/cmd/patch"
	"k8s.io/kubectl/pkg/cmd/replace"
	"k8s.io/kubectl/pkg/cmd/scale"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/cmd/version"
	"k8s.io/kubectl/pkg/cmd/wait"
	"k8s.io/kubectl/pkg/util/templates"

	"meseta.dev/meseta/pkg/kubeconfig"
)

// name is the command name shown in help and examples.
const name = "mesetactl"

// NewCommand returns the mesetactl command.
func NewCommand(args []string) *cobra.Command {
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	root := &cobra.Command{
		Use:   name,
		Short: "mesetactl controls a Meseta cluster",
		Long: templates.LongDesc(`
      mesetactl controls a Meseta cluster: apply manifests, inspect nodes, offers
      and tasks, cordon and drain nodes, read task logs.

      The kubeconfig comes from --kubeconfig, else $KUBECONFIG, else
      ~/.meseta/kubeconfig.`),
		Run: func(cmd *cobra.Command, _ []string) { _ = cmd.Help() },
		PersistentPreRun: func(*cobra.Command, []string) {
			rest.SetDefaultWarningHandler(rest.NewWarningWriter(streams.ErrOut, rest.WarningWriterOptions{Deduplicate: true}))
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetGlobalNormalizationFunc(cliflag.WarnWordSepNormalizeFunc)
	flags := genericclioptions.NewConfigFlags(true).WithDiscoveryBurst(300).WithDiscoveryQPS(50).WithWarningPrinter(streams)
	if os.Getenv(kubeconfig.EnvVar) == "" {
		path := kubeconfig.UserPath()
		flags.KubeConfig = &path
	}
	flags.AddFlags(root.PersistentFlags())
	matchVersion := cmdutil.NewMatchVersionFlags(flags)
	matchVersion.AddFlags(root.PersistentFlags())
	f := cmdutil.NewFactory(matchVersion)

	groups := templates.CommandGroups{
		{
			Message: "Basic Commands:",
			Commands: []*cobra.Command{
				serverSideApply(apply.NewCmdApply(name, f, streams)),
				get.NewCmdGet(name, f, streams),
				describe.NewCmdDescribe(name, f, streams),
				delete.NewCmdDelete(f, streams),
				explain.NewCmdExplain(name, f, streams),
				withSubcommands(create.NewCmdCreate(f, streams), createCommandFuncs, f, streams),
				edit.NewCmdEdit(f, streams),
			},
		},
		{
			Message:  "Workload Commands:",
			Commands: workloadCommands(f, streams),
		},
		{
			Message:  "Node Commands:",
			Commands: nodeCommands(f, streams),
		},
		{
			Message: "Advanced Commands:",
			Commands: []*cobra.Command{
				wait.NewCmdWait(f, streams),
				diff.NewCmdDiff(f, streams),
				patch.NewCmdPatch(f, streams),
				replace.NewCmdReplace(f, streams),
				scale.NewCmdScale(f, streams),
				label.NewCmdLabel(f, streams),
				annotate.NewCmdAnnotate(name, f, streams),
				auth.NewCmdAuth(f, streams),
			},
		},
		{
			Message: "Cluster Commands:",
			Commands: []*cobra.Command{
				clusterinfo.NewCmdClusterInfo(f, streams),
				apiresources.NewCmdAPIResources(f, streams),
				apiresources.NewCmdAPIVersions(f, streams),
				version.NewCmdVersion(f, streams),
				cmdconfig.NewCmdConfig(f, clientcmd.NewDefaultPathOptions(), streams),
				completion.NewCmdCompletion(streams.Out, ""),
			},
		},
	}
	groups = nonEmpty(groups)
	groups.Add(root)
	templates.ActsAsRootCommand(root, []string{"options"}, groups...)
	root.SetArgs(args)
	return root
}

// workloadCommands are Meseta's commands about tasks (logs, top).
var workloadCommandFuncs []func(cmdutil.Factory, genericiooptions.IOStreams) *cobra.Command

func workloadCommands(f cmdutil.Factory, streams genericiooptions.IOStreams) []*cobra.Command {
	var cmds []*cobra.Command
	for _, fn := range workloadCommandFuncs {
		cmds = append(cmds, fn(f, streams))
	}
	return cmds
}

// nodeCommands are Meseta's commands about nodes.
func nodeCommands(f cmdutil.Factory, streams genericiooptions.IOStreams) []*cobra.Command {
	cmds := []*cobra.Command{newCordonCommand(f, streams, true), newCordonCommand(f, streams, false)}
	for _, fn := range nodeCommandFuncs {
		cmds = append(cmds, fn(f, streams))
	}
	return cmds
}

// createCommandFuncs are Meseta's subcommands of create (create kubeconfig).
var createCommandFuncs []func(cmdutil.Factory, genericiooptions.IOStreams) *cobra.Command

// withSubcommands adds the commands made by fns to cmd.
func withSubcommands(cmd *cobra.Command, fns []func(cmdutil.Factory, genericiooptions.IOStreams) *cobra.Command, f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	for _, fn := range fns {
		cmd.AddCommand(fn(f, streams))
	}
	return cmd
}

// nodeCommandFuncs are further node commands registered by other files.
var nodeCommandFuncs []func(cmdutil.Factory, genericiooptions.IOStreams) *cobra.Command

// nonEmpty drops groups without commands.
func nonEmpty(groups templates.CommandGroups) templates.CommandGroups {
	var out templates.CommandGroups
	for _, g := range groups {
		if len(g.Commands) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// serverSideApply makes apply use server-side apply unless --server-side=false is
// given, so fields have owners and GitOps tools and mesetactl do not fight.
func serverSideApply(cmd *cobra.Command) *cobra.Command {
	if fl := cmd.Flags().Lookup("server-side"); fl != nil {
		_ = fl.Value.Set("true")
		fl.DefValue = "true"
	}
	if fl := cmd.Flags().Lookup("field-manager"); fl != nil {
		_ = fl.Value.Set(name)
		fl.DefValue = name
	}
	return cmd
}
