package apiserver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"time"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/storage/cacher/consistency"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
	controlplane "k8s.io/kubernetes/pkg/controlplane/apiserver/samples/generic/server"
	authzmodes "k8s.io/kubernetes/pkg/kubeapiserver/authorizer/modes"

	"meseta.dev/meseta/pkg/apiserver/certauth"
	"meseta.dev/meseta/pkg/apiserver/crdstorage"
	"meseta.dev/meseta/pkg/apiserver/taskadmission"
)

func init() {
	utilruntime.Must(logsapi.AddFeatureGates(utilfeature.DefaultMutableFeatureGate))
	utilruntime.Must(utilfeature.DefaultMutableFeatureGate.SetFromMap(uncompressedWatches))
	consistency.CheckPeriod = CacheConsistencyCheckPeriod
}

// CacheConsistencyCheckPeriod is how often the API server checks each watch
// cache against etcd (DetectCacheInconsistency; Kubernetes checks every five
// minutes). A check lists every object of the resource from etcd and decodes
// it, only to compare names and versions: with 50,000 tasks, some three
// seconds of the master's CPU at once (over a third of it helping the
// collector with the garbage), every five to seven and a half minutes. An
// inconsistent cache is still found, and still stops serving lists from its
// snapshots, within the period (plus up to half of it, the check's jitter).
const CacheConsistencyCheckPeriod = 30 * time.Minute

// uncompressedWatches turns off the gzip compression of watch streams that
// began with a streamed list (WatchListCompression, on by default in this
// version), as informers open them. The server compresses such a stream a
// flush at a time, one gzip member per flush, which once the list is sent is
// each event on its own: every event a watcher is sent was compressed for it
// alone, and decompressed by it, for a few hundred bytes saved on a
// connection inside the cluster. Other responses (lists, gets) are still
// compressed for clients that ask.
var uncompressedWatches = map[string]bool{"WatchListCompression": false}

// Config describes one API server.
type Config struct {
	// BindAddress and Port are where the server listens for HTTPS.
	BindAddress net.IP
	Port        int
	// AdvertiseAddress is the address other members reach this server at.
	AdvertiseAddress net.IP
	// ServingCertFile and ServingKeyFile are the server's TLS certificate and key.
	ServingCertFile, ServingKeyFile string
	// ClientCAFile is the authority whose client certificates authenticate users.
	ClientCAFile string
	// ServiceAccountKeyFile signs and verifies service account tokens.
	ServiceAccountKeyFile string
	// ServiceAccountIssuer is the issuer of service account tokens.
	ServiceAccountIssuer string
	// Etcd is how the server reaches its storage.
	Etcd EtcdClient
	// AuditLogPath, when set, writes an audit log of every request there.
	AuditLogPath string
	// AuditPolicyFile is the audit policy; empty logs request metadata.
	AuditPolicyFile string
	// MaxRequestBodyBytes limits the size of a request body.
	MaxRequestBodyBytes int64
	// BootstrapTokens authenticates bootstrap tokens (Secrets of type
	// bootstrap.kubernetes.io/token in kube-system), as agents use to join.
	BootstrapTokens bool
	// PostStartHooks run once the server serves; /readyz fails until each has
	// returned. A hook retries until it succeeds or its context ends.
	PostStartHooks []PostStartHook
}

// PostStartHook is work the server must finish before it reports ready, such as
// installing CRDs.
type PostStartHook struct {
	// Name appears in /readyz as poststarthook/<name>.
	Name string
	// Run does the work with a privileged loopback client configuration.
	Run func(ctx context.Context, loopback *rest.Config) error
}

// EtcdClient is how the API server reaches etcd.
type EtcdClient struct {
	// Servers are the etcd client URLs.
	Servers []string
	// CertFile, KeyFile and CAFile secure the connection; empty for plain HTTP.
	CertFile, KeyFile, CAFile string
	// Prefix is the key prefix of all objects.
	Prefix string
}

// Server is a running API server.
type Server struct {
	// LoopbackConfig is a privileged client configuration for in-process clients.
	LoopbackConfig *rest.Config
	done           chan struct{}
	err            error
}

// Done is closed when the server has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err returns why the server stopped; call it after Done is closed.
func (s *Server) Err() error { return s.err }

// Start builds the server chain (CRDs, native APIs, aggregator), starts it and
// waits until /readyz reports ready or ctx ends. Cancelling ctx stops the server.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	opts := controlplane.NewOptions()
	opts.SecureServing.BindAddress = cfg.BindAddress
	opts.SecureServing.BindPort = cfg.Port
	opts.SecureServing.ServerCert.CertKey.CertFile = cfg.ServingCertFile
	opts.SecureServing.ServerCert.CertKey.KeyFile = cfg.ServingKeyFile
	opts.SecureServing.ServerCert.CertDirectory = ""
	opts.GenericServerRunOptions.AdvertiseAddress = cfg.AdvertiseAddress
	if cfg.MaxRequestBodyBytes > 0 {
		opts.GenericServerRunOptions.MaxRequestBodyBytes = cfg.MaxRequestBodyBytes
	}
	opts.Authentication.ClientCert.ClientCA = cfg.ClientCAFile
	if opts.Authentication.BootstrapToken != nil {
		opts.Authentication.BootstrapToken.Enable = cfg.BootstrapTokens
	}
	opts.Authentication.ServiceAccounts.KeyFiles = []string{cfg.ServiceAccountKeyFile}
	opts.Authentication.ServiceAccounts.Issuers = []string{cfg.ServiceAccountIssuer}
	opts.ServiceAccountSigningKeyFile = cfg.ServiceAccountKeyFile
	opts.Authorization.Modes = []string{authzmodes.ModeRBAC}
	opts.Etcd.StorageConfig.Transport.ServerList = cfg.Etcd.Servers
	opts.Etcd.StorageConfig.Transport.CertFile = cfg.Etcd.CertFile
	opts.Etcd.StorageConfig.Transport.KeyFile = cfg.Etcd.KeyFile
	opts.Etcd.StorageConfig.Transport.TrustedCAFile = cfg.Etcd.CAFile
	if cfg.Etcd.Prefix != "" {
		opts.Etcd.StorageConfig.Prefix = cfg.Etcd.Prefix
	}
	if cfg.AuditLogPath != "" {
		opts.Audit.LogOptions.Path = cfg.AuditLogPath
		opts.Audit.PolicyFile = cfg.AuditPolicyFile
	}

	// Tasks are validated in Go (the Task CRD is served without CEL rules),
	// before the admission policies see them.
	admission := opts.Admission.GenericAdmission
	taskadmission.Register(admission.Plugins)
	admission.RecommendedPluginOrder = insertBefore(admission.RecommendedPluginOrder, taskadmission.PluginName, validating.PluginName)

	completed, err := opts.Complete(ctx, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("failed to complete API server options: %w", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return nil, fmt.Errorf("invalid API server options: %w", utilerrors.NewAggregate(errs))
	}
	config, err := controlplane.NewConfig(completed)
	if err != nil {
		return nil, fmt.Errorf("failed to configure the API server: %w", err)
	}
	if getter := config.APIExtensions.ExtraConfig.CRDRESTOptionsGetter; getter != nil {
		config.APIExtensions.ExtraConfig.CRDRESTOptionsGetter = crdstorage.TuneWatchCaches(getter)
	}
	rememberVerifiedCertificates(config)
	if fc := config.ControlPlane.Generic.FlowControl; fc != nil {
		fc = crdstorage.CountNodeIndexedWatches(fc)
		config.ControlPlane.Generic.FlowControl = fc
		config.APIExtensions.GenericConfig.FlowControl = fc
		config.Aggregator.GenericConfig.FlowControl = fc
	}
	completedConfig, err := config.Complete()
	if err != nil {
		return nil, err
	}
	chain, err := controlplane.CreateServerChain(completedConfig)
	if err != nil {
		return nil, err
	}
	for _, hook := range cfg.PostStartHooks {
		if err := chain.GenericAPIServer.AddPostStartHook(hook.Name, retryingHook(hook)); err != nil {
			return nil, err
		}
	}
	prepared, err := chain.PrepareRun()
	if err != nil {
		return nil, fmt.Errorf("failed to prepare the API server: %w", err)
	}

	srv := &Server{
		LoopbackConfig: rest.CopyConfig(completedConfig.ControlPlane.Generic.LoopbackClientConfig),
		done:           make(chan struct{}),
	}
	go func() {
		defer close(srv.done)
		srv.err = prepared.Run(ctx)
	}()
	if err := srv.waitReady(ctx); err != nil {
		return nil, err
	}
	return srv, nil
}

// rememberVerifiedCertificates puts certauth's authenticator, which
// verifies each client certificate chain once for a while, in front of the
// server's own, which verifies it at every request. Only without a front
// proxy (request header authentication): that authenticator is consulted
// before client certificates, and the authority in the serving options is
// then both authorities.
func rememberVerifiedCertificates(config *controlplane.Config) {
	generic := config.ControlPlane.Generic
	if generic.Authentication.RequestHeaderConfig != nil || generic.SecureServing == nil || generic.SecureServing.ClientCA == nil {
		return
	}
	wrapped := map[*genericapiserver.AuthenticationInfo]bool{}
	for _, authn := range []*genericapiserver.AuthenticationInfo{&generic.Authentication,
		&config.APIExtensions.GenericConfig.Authentication, &config.Aggregator.GenericConfig.Authentication} {
		if authn.Authenticator != nil && !wrapped[authn] {
			authn.Authenticator = certauth.InFront(generic.SecureServing.ClientCA, authn.Authenticator)
			wrapped[authn] = true
		}
	}
}

// insertBefore returns a copy of order with name inserted before next (at
// the end when next is missing).
func insertBefore(order []string, name, next string) []string {
	out := make([]string, 0, len(order)+1)
	for _, n := range order {
		if n == next {
			out = append(out, name)
		}
		out = append(out, n)
	}
	if len(out) == len(order) {
		out = append(out, name)
	}
	return out
}

// retryingHook runs hook until it succeeds or the server stops; the upstream
// server exits the process when a hook returns an error, so errors are retried.
func retryingHook(hook PostStartHook) genericapiserver.PostStartHookFunc {
	return func(hookCtx genericapiserver.PostStartHookContext) error {
		backoff := wait.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Cap: 5 * time.Second, Steps: math.MaxInt32}
		return wait.ExponentialBackoffWithContext(hookCtx, backoff, func(ctx context.Context) (bool, error) {
			if err := hook.Run(ctx, hookCtx.LoopbackClientConfig); err != nil {
				klog.FromContext(ctx).Error(err, "Post-start hook failed, retrying", "hook", hook.Name)
				return false, nil
			}
			return true, nil
		})
	}
}

// waitReady polls /readyz until it answers 200, the server stops, or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	client, err := kubernetes.NewForConfig(s.LoopbackConfig)
	if err != nil {
		return err
	}
	var lastErr error
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		select {
		case <-s.done:
			return false, fmt.Errorf("API server stopped while starting: %w", s.err)
		default:
		}
		var status int
		result := client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&status)
		if status == http.StatusOK {
			return true, nil
		}
		lastErr = result.Error()
		return false, nil
	})
	if err != nil && lastErr != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("API server not ready: %w (last: %v)", err, lastErr)
	}
	return err
}
