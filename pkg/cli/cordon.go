package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// nodesResource is Meseta's Node resource.
var nodesResource = schema.GroupVersionResource{Group: "meseta.dev", Version: "v1alpha1", Resource: "nodes"}

func newCordonCommand(f cmdutil.Factory, streams genericiooptions.IOStreams, cordon bool) *cobra.Command {
	use, short, verb := "cordon NODE...", "Mark nodes unschedulable: no new offers are made on them and their outstanding offers are rescinded", "cordoned"
	if !cordon {
		use, short, verb = "uncordon NODE...", "Mark nodes schedulable again", "uncordoned"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := f.DynamicClient()
			if err != nil {
				return err
			}
			patch := fmt.Appendf(nil, `{"spec":{"unschedulable":%t}}`, cordon)
			if !cordon {
				// Uncordoning also ends a drain.
				patch = []byte(`{"spec":{"unschedulable":false,"drain":null}}`)
			}
			for _, name := range args {
				if _, err := client.Resource(nodesResource).Patch(context.Background(), name, types.MergePatchType, patch, metav1PatchOptions); err != nil {
					return fmt.Errorf("failed to update node %s: %w", name, err)
				}
				fmt.Fprintf(streams.Out, "node/%s %s\n", name, verb)
			}
			return nil
		},
	}
}
