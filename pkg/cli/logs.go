package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/spf13/cobra"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/templates"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/logs"
)

func init() {
	workloadCommandFuncs = append(workloadCommandFuncs, newLogsCommand)
}

// logsOptions are the options of `mesetactl logs`.
type logsOptions struct {
	follow bool
	stderr bool
}

func newLogsCommand(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &logsOptions{}
	cmd := &cobra.Command{
		Use:   "logs TASK [-n NAMESPACE] [-f] [--stderr]",
		Short: "Print the output of a task",
		Long: templates.LongDesc(`
      Print the standard output (or, with --stderr, the standard error) of a
      task, read from the agent of the node the task runs on. With -f, keep
      printing what the task writes until it reaches a terminal state.

      The agent checks that you may get the subresource tasks/log of the task.`),
		Example: templates.Examples(`
      # Print the output of task report-1 in namespace team-a
      mesetactl logs report-1 -n team-a

      # Follow the standard error of a running task
      mesetactl logs web-0 -f --stderr`),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(f, streams, args[0])
		},
	}
	cmd.Flags().BoolVarP(&o.follow, "follow", "f", false, "Keep printing what the task writes until it reaches a terminal state.")
	cmd.Flags().BoolVar(&o.stderr, "stderr", false, "Print the standard error instead of the standard output.")
	return cmd
}

func (o *logsOptions) run(f cmdutil.Factory, streams genericiooptions.IOStreams, name string) error {
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return err
	}
	namespace, _, err := f.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return err
	}
	scheme := apiruntime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	task := &v1alpha1.Task{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, task); err != nil {
		return fmt.Errorf("failed to get task %s/%s: %w", namespace, name, err)
	}
	node, err := o.nodeOf(ctx, c, task)
	if err != nil {
		return err
	}
	opts := logs.Options{Stream: logs.Stdout, Follow: o.follow}
	if o.stderr {
		opts.Stream = logs.Stderr
	}
	return logs.Fetch(ctx, cfg, node, task.Namespace, task.Name, opts, streams.Out)
}

// nodeOf returns the node of the task; with follow, it waits for the task to
// be bound and started.
func (o *logsOptions) nodeOf(ctx context.Context, c client.Client, task *v1alpha1.Task) (*v1alpha1.Node, error) {
	for task.Spec.NodeName == "" || task.Status.Sandbox == "" && !task.IsTerminal() {
		if !o.follow {
			return nil, fmt.Errorf("task %s/%s has no output yet: it is %s", task.Namespace, task.Name, describeState(task))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
		if err := c.Get(ctx, client.ObjectKeyFromObject(task), task); err != nil {
			return nil, err
		}
	}
	if task.Spec.NodeName == "" {
		return nil, fmt.Errorf("task %s/%s never ran: it is %s", task.Namespace, task.Name, describeState(task))
	}
	node := &v1alpha1.Node{}
	if err := c.Get(ctx, types.NamespacedName{Name: task.Spec.NodeName}, node); err != nil {
		return nil, fmt.Errorf("failed to get node %s of task %s/%s: %w", task.Spec.NodeName, task.Namespace, task.Name, err)
	}
	return node, nil
}

func describeState(t *v1alpha1.Task) string {
	switch {
	case t.Spec.NodeName == "" && t.Status.State == "":
		return "not bound to a node yet"
	case t.Status.State == "":
		return "waiting to be admitted on node " + t.Spec.NodeName
	case t.Status.Reason != "":
		return fmt.Sprintf("%s (%s)", t.Status.State, t.Status.Reason)
	}
	return string(t.Status.State)
}
