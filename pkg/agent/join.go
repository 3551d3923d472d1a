package agent

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	bootstraputil "k8s.io/cluster-bootstrap/token/util"

	"meseta.dev/meseta/pkg/agent/bootstrap"
)

// CertDirName is the directory in the work dir that holds the node's client
// key and certificate when the agent joins with a bootstrap token.
const CertDirName = "pki"

// JoinOptions say how an agent without a kubeconfig joins the cluster: with a
// bootstrap token (`meseta token create`), traded for the node's own client
// certificate (user meseta:node:<name> in group meseta:nodes).
type JoinOptions struct {
	// BootstrapKubeconfig is a kubeconfig with the server, its CA and a
	// bootstrap token (`meseta token create --bootstrap-kubeconfig`).
	BootstrapKubeconfig string
	// Token is a bootstrap token; it overrides the one in BootstrapKubeconfig.
	Token string
	// Server and CertificateAuthority give the API server and its CA when no
	// BootstrapKubeconfig does.
	Server, CertificateAuthority string
}

func (j *JoinOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&j.BootstrapKubeconfig, "bootstrap-kubeconfig", j.BootstrapKubeconfig, "Kubeconfig holding a bootstrap token (meseta token create --bootstrap-kubeconfig), traded for the node's identity; instead of --kubeconfig.")
	fs.StringVar(&j.Token, "token", j.Token, "Bootstrap token (meseta token create), traded for the node's identity; with --server and --certificate-authority, or overriding the token of --bootstrap-kubeconfig.")
	fs.StringVar(&j.Server, "server", j.Server, "URL of the API server, with --token.")
	fs.StringVar(&j.CertificateAuthority, "certificate-authority", j.CertificateAuthority, "CA of the API server (the master's pki/ca.crt), with --token.")
}

// joining reports whether the agent joins with a bootstrap token.
func (j JoinOptions) joining() bool {
	return j.BootstrapKubeconfig != "" || j.Token != ""
}

func (c CompletedOptions) validateJoin() field.ErrorList {
	var errs field.ErrorList
	j := c.Join
	if c.Kubeconfig != "" && j.joining() {
		errs = append(errs, field.Forbidden(field.NewPath("--kubeconfig"), "give either --kubeconfig or a bootstrap token (--bootstrap-kubeconfig, --token), not both"))
	}
	if j.Token != "" && !bootstraputil.IsValidBootstrapToken(j.Token) {
		errs = append(errs, field.Invalid(field.NewPath("--token"), "<hidden>", "must look like abcdef.0123456789abcdef (meseta token create)"))
	}
	if j.Token != "" && j.BootstrapKubeconfig == "" && (j.Server == "" || j.CertificateAuthority == "") {
		errs = append(errs, field.Required(field.NewPath("--server"), "--token needs --server and --certificate-authority, or --bootstrap-kubeconfig"))
	}
	return errs
}

// JoinCluster trades the bootstrap token for the node's client certificate,
// kept in WORK-DIR/pki and reused on later starts, and sets RESTConfig to it.
// It does nothing when the agent was given a kubeconfig or a RESTConfig. It
// waits until the master has signed the certificate or ctx ends.
func (c CompletedOptions) JoinCluster(ctx context.Context) error {
	if c.RESTConfig != nil || !c.Join.joining() {
		return nil
	}
	cfg := &rest.Config{}
	if c.Join.BootstrapKubeconfig != "" {
		loaded, err := clientcmd.BuildConfigFromFlags("", c.Join.BootstrapKubeconfig)
		if err != nil {
			return fmt.Errorf("--bootstrap-kubeconfig: %w", err)
		}
		cfg = loaded
	}
	if c.Join.Token != "" {
		cfg.BearerToken, cfg.BearerTokenFile = c.Join.Token, ""
	}
	if c.Join.Server != "" {
		cfg.Host = c.Join.Server
	}
	if c.Join.CertificateAuthority != "" {
		cfg.CAFile, cfg.CAData = c.Join.CertificateAuthority, nil
	}
	nodeConfig, err := bootstrap.Bootstrap(ctx, cfg, c.NodeName, filepath.Join(c.WorkDir, CertDirName))
	if err != nil {
		return err
	}
	c.RESTConfig = nodeConfig
	return nil
}
