package app

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"meseta.dev/meseta/pkg/kubeconfig"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/security"
)

// tokenOptions are the flags of `meseta token create`.
type tokenOptions struct {
	dataDir             string
	kubeconfig          string
	ttl                 time.Duration
	node                string
	description         string
	bootstrapKubeconfig string
}

func newTokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage agent bootstrap tokens",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	o := tokenOptions{dataDir: master.NewOptions().DataDir, ttl: 24 * time.Hour}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a bootstrap token an agent trades for its node identity",
		Long: `Create a bootstrap token (a Secret in kube-system, as kubeadm's) and print it.
An agent started with it asks the master for a client certificate for user
meseta:node:<name> in group meseta:nodes, which the master approves; the token
allows nothing else. --node restricts the token to one node's identity.
--bootstrap-kubeconfig also writes a kubeconfig holding the server, its CA and
the token, for meseta agent --bootstrap-kubeconfig.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd)
		},
	}
	fs := create.Flags()
	fs.StringVar(&o.dataDir, "data-dir", o.dataDir, "Data dir of the master, whose admin kubeconfig is used.")
	fs.StringVar(&o.kubeconfig, "kubeconfig", o.kubeconfig, "Admin kubeconfig (default: DATA-DIR/admin.kubeconfig).")
	fs.DurationVar(&o.ttl, "ttl", o.ttl, "How long the token authenticates (0: never expires).")
	fs.StringVar(&o.node, "node", o.node, "Restrict the token to the identity of this node.")
	fs.StringVar(&o.description, "description", o.description, "Note stored with the token.")
	fs.StringVar(&o.bootstrapKubeconfig, "bootstrap-kubeconfig", o.bootstrapKubeconfig, "Also write a bootstrap kubeconfig with the token to this file.")
	cmd.AddCommand(create)
	return cmd
}

func (o tokenOptions) run(cmd *cobra.Command) error {
	path := o.kubeconfig
	if path == "" {
		path = master.AdminKubeconfigPath(o.dataDir)
	}
	raw, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return fmt.Errorf("failed to read the admin kubeconfig: %w", err)
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, nil).ClientConfig()
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	token, err := security.CreateBootstrapToken(ctx, client, security.BootstrapTokenOptions{TTL: o.ttl, NodeName: o.node, Description: o.description})
	if err != nil {
		return err
	}
	if o.bootstrapKubeconfig != "" {
		ca := cfg.CAData
		if len(ca) == 0 && cfg.CAFile != "" {
			if ca, err = os.ReadFile(cfg.CAFile); err != nil {
				return err
			}
		}
		if err := kubeconfig.Write(o.bootstrapKubeconfig, "meseta", cfg.Host, ca, kubeconfig.Credentials{Token: token}); err != nil {
			return err
		}
	}
	fmt.Fprintln(cmd.OutOrStdout(), token)
	return nil
}

func init() {
	extraCommandFuncs = append(extraCommandFuncs, newTokenCommand)
}
