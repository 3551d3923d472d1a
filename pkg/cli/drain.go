package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/templates"

	"meseta.dev/meseta/apis/v1alpha1"
)

// tasksResource is Meseta's Task resource.
var tasksResource = schema.GroupVersionResource{Group: "meseta.dev", Version: "v1alpha1", Resource: "tasks"}

// drainOptions are the flags of `mesetactl drain`.
type drainOptions struct {
	gracePeriod time.Duration // negative: each task's own killGracePeriod
	timeout     time.Duration // zero: no limit
	wait        bool
	interval    time.Duration
}

func newDrainCommand(f cmdutil.Factory, _ genericiooptions.IOStreams) *cobra.Command {
	o := drainOptions{gracePeriod: -1, wait: true, interval: time.Second}
	cmd := &cobra.Command{
		Use:   "drain NODE [--grace-period D] [--timeout D] [--wait=false]",
		Short: "Cordon a node and kill its tasks, so that their frameworks relaunch them elsewhere",
		Long: templates.LongDesc(`
      Drain a node: mark it unschedulable and set spec.drain, after which the
      master rescinds the node's offers and kills its tasks (each gets the
      smaller of its own killGracePeriod and --grace-period between SIGTERM and
      SIGKILL). Frameworks see their tasks killed and relaunch them on other
      nodes. The node's phase is Draining until no task is left, then Drained.

      With --wait (the default) the command waits until no task on the node is
      left in a non-terminal state, printing what is left as it goes.
      'mesetactl uncordon NODE' ends the drain.`),
		Example: templates.Examples(`
      # Drain node-a and wait until its tasks are gone
      mesetactl drain node-a

      # Give each task at most 10s to stop, and wait at most 2 minutes
      mesetactl drain node-a --grace-period 10s --timeout 2m

      # Only ask for the drain
      mesetactl drain node-a --wait=false`),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := f.DynamicClient()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return o.run(ctx, client, cmd.OutOrStdout(), args[0])
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&o.gracePeriod, "grace-period", o.gracePeriod, "Longest time each task gets between SIGTERM and SIGKILL; negative means each task's own killGracePeriod.")
	fl.DurationVar(&o.timeout, "timeout", o.timeout, "How long to wait for the node to drain before giving up (0: no limit).")
	fl.BoolVar(&o.wait, "wait", o.wait, "Wait until no task on the node is left in a non-terminal state.")
	return cmd
}

// drainPatch is the merge patch that cordons a node and asks for its drain,
// requested at now.
func (o drainOptions) drainPatch(now time.Time) ([]byte, error) {
	drain := map[string]any{"requestedAt": metav1.NewTime(now), "gracePeriod": nil}
	if o.gracePeriod >= 0 {
		drain["gracePeriod"] = metav1.Duration{Duration: o.gracePeriod}
	}
	return json.Marshal(map[string]any{"spec": map[string]any{"unschedulable": true, "drain": drain}})
}

func (o drainOptions) run(ctx context.Context, client dynamic.Interface, out io.Writer, node string) error {
	patch, err := o.drainPatch(time.Now())
	if err != nil {
		return err
	}
	_, err = client.Resource(nodesResource).Patch(ctx, node, types.MergePatchType, patch, metav1PatchOptions)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("node %s not found", node)
	}
	if err != nil {
		return fmt.Errorf("failed to drain node %s: %w", node, err)
	}
	fmt.Fprintf(out, "node/%s cordoned and draining\n", node)
	if !o.wait {
		return nil
	}
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	return o.waitDrained(ctx, client, out, node)
}

// waitDrained lists the node's tasks every interval until none is left in a
// non-terminal state, printing what is left whenever that changes.
func (o drainOptions) waitDrained(ctx context.Context, client dynamic.Interface, out io.Writer, node string) error {
	selector := "spec.nodeName=" + node
	var last []string
	for {
		list, err := client.Resource(tasksResource).Namespace(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: selector})
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("failed to list the tasks of node %s: %w", node, err)
		}
		if err == nil {
			left := liveTasks(list.Items)
			if len(left) == 0 {
				fmt.Fprintf(out, "node/%s drained\n", node)
				return nil
			}
			if !slices.Equal(left, last) {
				fmt.Fprintf(out, "node/%s: %s\n", node, describeLeft(left))
				last = left
			}
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("timed out after %s waiting for node %s to drain: %s; see 'mesetactl get tasks -A --field-selector %s'",
					o.timeout, node, describeLeft(last), selector)
			}
			return ctx.Err()
		case <-time.After(o.interval):
		}
	}
}

// liveTasks returns "namespace/name (State)" of each task not in a terminal
// state, sorted.
func liveTasks(items []unstructured.Unstructured) []string {
	var left []string
	for i := range items {
		state, _, _ := unstructured.NestedString(items[i].Object, "status", "state")
		if v1alpha1.TaskState(state).IsTerminal() {
			continue
		}
		if state == "" {
			state = "Pending"
		}
		left = append(left, fmt.Sprintf("%s/%s (%s)", items[i].GetNamespace(), items[i].GetName(), state))
	}
	slices.Sort(left)
	return left
}

// describeLeft says how many tasks are left and names the first few.
func describeLeft(left []string) string {
	const shown = 5
	n := len(left)
	switch n {
	case 0:
		return "its tasks could not be listed"
	case 1:
		return "1 task left: " + left[0]
	}
	names := strings.Join(left[:min(n, shown)], ", ")
	if n > shown {
		names += fmt.Sprintf(", and %d more", n-shown)
	}
	return fmt.Sprintf("%d tasks left: %s", n, names)
}

func init() {
	nodeCommandFuncs = append(nodeCommandFuncs, newDrainCommand)
}
