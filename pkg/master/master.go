package master

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"meseta.dev/meseta/pkg/apiserver"
	"meseta.dev/meseta/pkg/etcd"
	"meseta.dev/meseta/pkg/kubeconfig"
	"meseta.dev/meseta/pkg/security"
)

// SystemNamespace holds the objects of Meseta's own components (agent Leases,
// the controller manager's Lease).
const SystemNamespace = "meseta-system"

// Master is a running master.
type Master struct {
	// Config is the configuration the master was started with.
	Config *Config
	// AdminConfig is a client configuration with the admin's credentials.
	AdminConfig *rest.Config
	// KubeconfigPath is the admin kubeconfig in the data dir.
	KubeconfigPath string

	etcd      *etcd.Server
	apiServer *apiserver.Server
	cancelAPI context.CancelFunc
	managerWG chan struct{}
	done      chan struct{}
	err       error
}

// Start starts the master and returns once its API is ready and the controller
// manager is running. Cancel ctx to stop it; Done is closed when it has stopped.
func Start(ctx context.Context, cfg *Config) (*Master, error) {
	logger := klog.FromContext(ctx)
	started := time.Now()
	m := &Master{Config: cfg, done: make(chan struct{}), KubeconfigPath: AdminKubeconfigPath(cfg.Options.DataDir)}
	o := cfg.Options

	etcdClient := apiserver.EtcdClient{Servers: o.EtcdServers, CAFile: o.EtcdCAFile, CertFile: o.EtcdCertFile, KeyFile: o.EtcdKeyFile}
	if len(o.EtcdServers) == 0 {
		srv, err := etcd.Start(ctx, etcd.Config{
			DataDir:        filepath.Join(o.DataDir, etcdDir),
			Name:           o.EtcdName,
			Host:           o.advertiseIP.String(),
			ClientPort:     o.EtcdClientPort,
			PeerPort:       o.EtcdPeerPort,
			InitialCluster: o.EtcdInitialCluster,
			JoinExisting:   o.EtcdJoin,
			ServerTLS:      etcd.TLS{CertFile: cfg.EtcdServing.CertFile, KeyFile: cfg.EtcdServing.KeyFile, CAFile: cfg.CA.CertFile},
		})
		if err != nil {
			return nil, err
		}
		m.etcd = srv
		etcdClient = apiserver.EtcdClient{Servers: srv.ClientURLs(), CAFile: cfg.CA.CertFile, CertFile: cfg.EtcdClient.CertFile, KeyFile: cfg.EtcdClient.KeyFile}
		logger.Info("Embedded etcd ready", "endpoints", srv.ClientURLs(), "elapsed", time.Since(started).Round(time.Millisecond))
	}

	auditPolicy := ""
	if o.AuditLog != "" {
		path, err := security.WriteAuditPolicy(filepath.Join(o.DataDir, auditPolicyFile))
		if err != nil {
			m.stopEtcd()
			return nil, err
		}
		auditPolicy = path
	}

	apiCtx, cancelAPI := context.WithCancel(context.WithoutCancel(ctx))
	m.cancelAPI = cancelAPI
	api, err := apiserver.Start(apiCtx, apiserver.Config{
		BindAddress:           o.bindIP,
		Port:                  o.Port,
		AdvertiseAddress:      o.advertiseIP,
		ServingCertFile:       cfg.Serving.CertFile,
		ServingKeyFile:        cfg.Serving.KeyFile,
		ClientCAFile:          cfg.CA.CertFile,
		ServiceAccountKeyFile: cfg.ServiceAccountKey,
		ServiceAccountIssuer:  "https://meseta.default.svc",
		Etcd:                  etcdClient,
		AuditLogPath:          o.AuditLog,
		AuditPolicyFile:       auditPolicy,
		MaxRequestBodyBytes:   MaxRequestBodyBytes,
		BootstrapTokens:       true,
		PostStartHooks:        []apiserver.PostStartHook{{Name: "meseta-bootstrap", Run: m.bootstrap}},
	})
	if err != nil {
		cancelAPI()
		m.stopEtcd()
		return nil, err
	}
	m.apiServer = api
	logger.Info("API server ready", "url", cfg.ServerURL, "elapsed", time.Since(started).Round(time.Millisecond))

	m.AdminConfig = &rest.Config{
		Host:            cfg.ServerURL,
		TLSClientConfig: rest.TLSClientConfig{CAFile: cfg.CA.CertFile, CertFile: cfg.Admin.CertFile, KeyFile: cfg.Admin.KeyFile},
		QPS:             200,
		Burst:           400,
	}
	if err := m.writeAdminKubeconfig(); err != nil {
		m.stopAPI()
		m.stopEtcd()
		return nil, err
	}
	managerDone, err := m.startManager(ctx)
	if err != nil {
		m.stopAPI()
		m.stopEtcd()
		return nil, err
	}
	m.managerWG = managerDone
	logger.Info("Master ready", "kubeconfig", m.KubeconfigPath, "elapsed", time.Since(started).Round(time.Millisecond))
	go m.waitAndStop(ctx)
	return m, nil
}

// Done is closed when the master has stopped.
func (m *Master) Done() <-chan struct{} { return m.done }

// Err returns why the master stopped, after Done is closed.
func (m *Master) Err() error { return m.err }

// MaxRequestBodyBytes is the largest request body the API server accepts, as in
// Kubernetes; etcd refuses objects past 1.5 MiB anyway.
const MaxRequestBodyBytes = 3 << 20

// auditPolicyFile is the audit policy in the data dir, written with Meseta's
// default when --audit-log is set and the file does not exist.
const auditPolicyFile = "audit-policy.yaml"

// bootstrap installs the CRDs, creates the system namespace, applies the
// RBAC roles, admission policies and priority levels, and waits until the
// API server enforces the policies. It runs as a post-start hook of the API
// server, so /readyz reports ready only after it.
func (m *Master) bootstrap(ctx context.Context, loopback *rest.Config) error {
	if m.Config.CRDs != nil {
		crds, err := m.Config.CRDs()
		if err != nil {
			return fmt.Errorf("failed to load CRDs: %w", err)
		}
		if err := installCRDs(ctx, loopback, crds); err != nil {
			return err
		}
	}
	client, err := kubernetes.NewForConfig(loopback)
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: SystemNamespace}}
	if _, err := client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("failed to create namespace %s: %w", SystemNamespace, err)
	}
	if err := security.Install(ctx, loopback); err != nil {
		return fmt.Errorf("failed to install RBAC and admission policies: %w", err)
	}
	return security.WaitForAdmissionPolicies(ctx, loopback, SystemNamespace, admissionReadyTimeout)
}

// admissionReadyTimeout bounds the wait for the admission policies to be
// enforced at start (they are, normally, within a second or two).
const admissionReadyTimeout = time.Minute

// writeAdminKubeconfig writes the admin kubeconfig into the data dir.
func (m *Master) writeAdminKubeconfig() error {
	return kubeconfig.Write(m.KubeconfigPath, "meseta", m.Config.ServerURL, m.Config.CA.CertPEM(),
		kubeconfig.Credentials{CertFile: m.Config.Admin.CertFile, KeyFile: m.Config.Admin.KeyFile})
}

// Bounds of the steps of a stop. A master whose embedded etcd lost its
// quorum (its peers are dead) cannot commit what its components write on
// their way out (the leader Lease, the API server's identity Lease), and
// their requests wait for etcd until they time out, again and again; the
// master gives each step this long and goes on, so that it exits within a
// minute of SIGTERM all the same.
const (
	managerStopTimeout = 20 * time.Second
	apiStopTimeout     = 15 * time.Second
	etcdStopTimeout    = 10 * time.Second
)

// waitAndStop stops the master when ctx ends or a component fails, each step
// bounded in time:
//  1. the controller manager (it stops its controllers and releases its
//     Lease);
//  2. the API server;
//  3. embedded etcd.
func (m *Master) waitAndStop(ctx context.Context) {
	defer close(m.done)
	var etcdErr <-chan error
	if m.etcd != nil {
		etcdErr = m.etcd.Err()
	}
	select {
	case <-ctx.Done():
	case <-m.apiServer.Done():
		m.err = fmt.Errorf("API server stopped: %w", m.apiServer.Err())
	case err := <-etcdErr:
		m.err = fmt.Errorf("embedded etcd failed: %w", err)
	case <-m.managerWG:
		// The manager also stops when ctx ends; only an early stop is an error.
		if ctx.Err() == nil {
			m.err = errors.New("controller manager stopped")
		}
	}
	logger := klog.FromContext(ctx)
	logger.Info("Stopping master")
	if !waitFor(m.managerWG, managerStopTimeout) {
		logger.Info("The controller manager did not stop in time; stopping the API server", "timeout", managerStopTimeout)
	}
	m.stopAPI()
	m.stopEtcd()
}

// stopAPI stops the API server and waits for it at most apiStopTimeout.
func (m *Master) stopAPI() {
	m.cancelAPI()
	if !waitFor(m.apiServer.Done(), apiStopTimeout) {
		klog.Background().Info("The API server did not stop in time; stopping etcd", "timeout", apiStopTimeout)
	}
}

// stopEtcd stops embedded etcd and waits for it at most etcdStopTimeout.
func (m *Master) stopEtcd() {
	if m.etcd == nil {
		return
	}
	done := make(chan struct{})
	go func() { defer close(done); m.etcd.Close() }()
	if !waitFor(done, etcdStopTimeout) {
		klog.Background().Info("Embedded etcd did not stop in time", "timeout", etcdStopTimeout)
	}
}

// waitFor waits until done is closed or timeout has passed, and reports
// whether done was closed.
func waitFor(done <-chan struct{}, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
