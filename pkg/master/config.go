package master

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"meseta.dev/meseta/pkg/pki"
)

// ControllerSetup registers one controller with the manager.
type ControllerSetup func(mgr ctrl.Manager, opts SchedulingOptions) error

// Config is everything Start needs, derived from validated options.
type Config struct {
	Options CompletedOptions
	// CA is the cluster's certificate authority.
	CA *pki.CA
	// Serving is the API server's certificate; EtcdServing the embedded etcd's.
	Serving, EtcdServing pki.KeyPair
	// Admin is the admin's client certificate (group system:masters).
	Admin pki.KeyPair
	// EtcdClient is the API server's client certificate for the embedded etcd.
	EtcdClient pki.KeyPair
	// ServiceAccountKey signs service account tokens.
	ServiceAccountKey string
	// CRDs returns the CustomResourceDefinitions the master installs.
	CRDs func() ([]*apiextensionsv1.CustomResourceDefinition, error)
	// Controllers are registered with the leader-elected manager.
	Controllers []ControllerSetup
	// ServerURL is the URL clients use to reach this master.
	ServerURL string
}

// Paths of files in the data dir.
const (
	pkiDir          = "pki"
	etcdDir         = "etcd"
	adminKubeconfig = "admin.kubeconfig"
)

// AdminKubeconfigPath returns where the admin kubeconfig of a data dir lives.
func AdminKubeconfigPath(dataDir string) string {
	return filepath.Join(dataDir, adminKubeconfig)
}

// Config creates the data dir and the certificates on first start, and returns the
// configuration to start the master with.
func (c CompletedOptions) Config() (*Config, error) {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create --data-dir %s: %w", c.DataDir, err)
	}
	dir := filepath.Join(c.DataDir, pkiDir)
	ca, err := pki.LoadOrCreateCA(dir)
	if err != nil {
		return nil, err
	}
	hosts := []string{"localhost", "127.0.0.1", "::1", c.advertiseIP.String()}
	if !c.bindIP.IsUnspecified() {
		hosts = append(hosts, c.bindIP.String())
	}
	if h, err := os.Hostname(); err == nil {
		hosts = append(hosts, h)
	}
	cfg := &Config{Options: c, CA: ca}
	if cfg.Serving, err = ca.LoadOrCreateServing(dir, "apiserver", hosts); err != nil {
		return nil, err
	}
	// etcd members present the same certificate to their peers as clients.
	if cfg.EtcdServing, err = ca.LoadOrCreatePeer(dir, "etcd-server", hosts); err != nil {
		return nil, err
	}
	if cfg.Admin, err = ca.LoadOrCreateClient(dir, "admin", "meseta:admin", "system:masters"); err != nil {
		return nil, err
	}
	if cfg.EtcdClient, err = ca.LoadOrCreateClient(dir, "etcd-client", "meseta:apiserver"); err != nil {
		return nil, err
	}
	if cfg.ServiceAccountKey, err = pki.LoadOrCreateSigningKey(dir, "service-account"); err != nil {
		return nil, err
	}
	host := c.advertiseIP.String()
	if !c.bindIP.IsUnspecified() {
		host = c.bindIP.String()
	}
	cfg.ServerURL = "https://" + net.JoinHostPort(host, strconv.Itoa(c.Port))
	return cfg, nil
}
