package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/templates"

	"meseta.dev/meseta/pkg/security"
)

// createKubeconfigOptions are the flags of `mesetactl create kubeconfig`.
type createKubeconfigOptions struct {
	user           string
	groups         []string
	serviceAccount string
	clusterRole    string
	expiration     time.Duration
	output         string
	timeout        time.Duration
}

func newCreateKubeconfigCommand(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := createKubeconfigOptions{expiration: 365 * 24 * time.Hour, timeout: time.Minute}
	cmd := &cobra.Command{
		Use:   "kubeconfig -o FILE (--user NAME [--group GROUP]... | --service-account NAME) [--clusterrole ROLE]",
		Short: "Mint a kubeconfig for a person (client certificate) or a framework (service account token)",
		Long: templates.LongDesc(`
      Mint a kubeconfig for another identity, with the current (admin) one.

      With --user, a client certificate for that user and groups is requested
      through the certificates.k8s.io API, approved (which needs cluster admin
      rights) and signed by the master. Group system:masters cannot be minted.

      With --service-account, a token is minted for that service account of the
      namespace (-n), which is created if missing: a framework's identity.

      --clusterrole also binds a ClusterRole to the identity: cluster-wide for a
      user, unless -n is given; in its namespace for a service account.`),
		Example: templates.Examples(`
      # A read-only user for the whole cluster
      mesetactl create kubeconfig --user alice --clusterrole meseta:viewer -o alice.kubeconfig

      # An operator who may cordon and drain nodes
      mesetactl create kubeconfig --user bob --group ops --clusterrole meseta:operator -o bob.kubeconfig

      # A framework's service account in namespace team-a
      mesetactl create kubeconfig -n team-a --service-account analytics --clusterrole meseta:framework -o analytics.kubeconfig`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			namespaceSet := cmd.Flag("namespace") != nil && cmd.Flag("namespace").Changed
			return o.run(cmd.Context(), f, streams, namespaceSet)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.user, "user", o.user, "User name of a person: the client certificate's common name.")
	fl.StringSliceVar(&o.groups, "group", o.groups, "Group of the user (repeatable).")
	fl.StringVar(&o.serviceAccount, "service-account", o.serviceAccount, "Service account of the namespace (-n) to mint a token for, instead of --user.")
	fl.StringVar(&o.clusterRole, "clusterrole", o.clusterRole, "ClusterRole to bind to the identity, e.g. meseta:viewer, meseta:operator, meseta:admin, meseta:framework.")
	fl.DurationVar(&o.expiration, "expiration", o.expiration, "How long the credentials are valid (the master caps certificates at a year).")
	fl.StringVarP(&o.output, "output", "o", o.output, "File to write the kubeconfig to (mode 0600).")
	fl.DurationVar(&o.timeout, "timeout", o.timeout, "How long to wait for the master to sign the certificate.")
	return cmd
}

func (o createKubeconfigOptions) validate() error {
	switch {
	case o.output == "":
		return errors.New("--output (-o) is required: the file to write the kubeconfig to")
	case (o.user == "") == (o.serviceAccount == ""):
		return errors.New("give exactly one of --user and --service-account")
	case o.serviceAccount != "" && len(o.groups) > 0:
		return errors.New("--group applies to --user only; a service account's groups are fixed")
	case o.expiration <= 0:
		return fmt.Errorf("--expiration %s must be positive", o.expiration)
	}
	return nil
}

func (o createKubeconfigOptions) run(ctx context.Context, f cmdutil.Factory, streams genericiooptions.IOStreams, namespaceSet bool) error {
	if err := o.validate(); err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	cfg, err := f.ToRESTConfig()
	if err != nil {
		return err
	}
	client, err := f.KubernetesClientSet()
	if err != nil {
		return err
	}
	namespace, _, err := f.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return err
	}

	user := &clientcmdapi.AuthInfo{}
	var subject rbacv1.Subject
	bindIn := ""
	if o.user != "" {
		minted, err := security.MintClientCertificate(ctx, client, o.user, o.groups, o.expiration)
		if err != nil {
			return err
		}
		user.ClientCertificateData, user.ClientKeyData = minted.CertPEM, minted.KeyPEM
		subject = rbacv1.Subject{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: o.user}
		if namespaceSet {
			bindIn = namespace
		}
	} else {
		if user.Token, err = security.MintServiceAccountToken(ctx, client, namespace, o.serviceAccount, o.expiration); err != nil {
			return err
		}
		subject = rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: o.serviceAccount}
		bindIn = namespace
	}
	if err := writeMintedKubeconfig(o.output, cfg, user, namespace); err != nil {
		return err
	}
	fmt.Fprintf(streams.Out, "kubeconfig for %s %s written to %s\n", subject.Kind, describeSubject(subject, o.groups), o.output)
	if o.clusterRole == "" {
		return nil
	}
	binding, err := security.Bind(ctx, client, o.clusterRole, bindIn, subject)
	if err != nil {
		return err
	}
	where := "cluster-wide"
	if bindIn != "" {
		where = "in namespace " + bindIn
	}
	fmt.Fprintf(streams.Out, "clusterrole %s bound %s (binding %s)\n", o.clusterRole, where, binding)
	return nil
}

func describeSubject(s rbacv1.Subject, groups []string) string {
	if s.Kind == rbacv1.ServiceAccountKind {
		return s.Namespace + "/" + s.Name
	}
	if len(groups) == 0 {
		return s.Name
	}
	return fmt.Sprintf("%s %v", s.Name, groups)
}

// writeMintedKubeconfig writes a kubeconfig for the server and CA of cfg with
// the given credentials embedded, so the file works on its own elsewhere.
func writeMintedKubeconfig(path string, cfg *rest.Config, user *clientcmdapi.AuthInfo, namespace string) error {
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		var err error
		if ca, err = os.ReadFile(cfg.CAFile); err != nil {
			return err
		}
	}
	const name = "meseta"
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: ca, TLSServerName: cfg.ServerName, InsecureSkipTLSVerify: cfg.Insecure}
	kc.AuthInfos[name] = user
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: namespace}
	kc.CurrentContext = name
	data, err := clientcmd.Write(*kc)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	// A new file, renamed into place: an existing file's looser mode is not kept.
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func init() {
	createCommandFuncs = append(createCommandFuncs, newCreateKubeconfigCommand)
}
