package master

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	mesetav1alpha1 "meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/kubecontrollers"
	"meseta.dev/meseta/pkg/security/certificates"
)

// LeaderElectionID is the name of the Lease the masters elect their leader with.
const LeaderElectionID = "meseta-controller-manager"

// Scheme holds every type the controllers use.
var Scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(Scheme))
	utilruntime.Must(mesetav1alpha1.AddToScheme(Scheme))
}

// startManager starts the controller manager; the returned channel is closed when
// it has stopped and released its Lease, which is when ctx ends.
//
// A manager that stops early, above all one that lost its leadership (an API
// server too loaded to renew the leader Lease within the renew deadline, or a
// network cut between masters), stops its controllers, as it must: another
// master may lead now. The master keeps serving the API and campaigns again
// with a new manager, whose controllers rebuild their state from the API
// server, as after a failover; it does not exit.
func (m *Master) startManager(ctx context.Context) (chan struct{}, error) {
	mgr, err := m.newManager(ctx)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		logger := klog.FromContext(ctx)
		retry := m.Config.Options.LeaderElection.RetryPeriod
		for {
			err := mgr.Start(ctx)
			if ctx.Err() != nil {
				if err != nil {
					logger.Error(err, "Controller manager stopped")
				}
				return
			}
			logger.Error(err, "Controller manager stopped; campaigning again with a new one", "in", retry)
			for mgr = nil; mgr == nil; {
				select {
				case <-ctx.Done():
					return
				case <-time.After(retry):
				}
				if mgr, err = m.newManager(ctx); err != nil {
					logger.Error(err, "Failed to create a new controller manager; retrying", "in", retry)
				}
			}
		}
	}()
	return done, nil
}

// newManager makes a controller manager with every controller of the master.
func (m *Master) newManager(ctx context.Context) (manager.Manager, error) {
	cfg := rest.CopyConfig(m.apiServer.LoopbackConfig)
	cfg.QPS, cfg.Burst = 500, 1000
	// Protobuf for the built-in kinds (the agents' Leases above all), JSON for
	// Meseta's own, which are served as JSON only: controller-runtime picks per
	// kind when no content type is set.
	cfg.ContentType, cfg.AcceptContentTypes = "", ""
	mgr, err := ctrl.NewManager(cfg, manager.Options{
		Scheme:                        Scheme,
		Logger:                        klog.FromContext(ctx).WithName("controllers"),
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                m.Config.Options.LeaderElect,
		LeaderElectionID:              LeaderElectionID,
		LeaderElectionNamespace:       SystemNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 ptr(m.Config.Options.LeaderElection.LeaseDuration),
		RenewDeadline:                 ptr(m.Config.Options.LeaderElection.RenewDeadline),
		RetryPeriod:                   ptr(m.Config.Options.LeaderElection.RetryPeriod),
		GracefulShutdownTimeout:       ptr(30 * time.Second),
		// No controller reads managedFields: the cache keeps objects without them.
		Cache: cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create the controller manager: %w", err)
	}
	// The upstream controllers need leader election like every other controller.
	loopback := m.apiServer.LoopbackConfig
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		return kubecontrollers.Run(ctx, loopback)
	})); err != nil {
		return nil, err
	}
	// Signing and approving client certificates (agents' node identities, people's
	// kubeconfigs) with the cluster CA; the CA key lives beside its certificate.
	caKey := filepath.Join(filepath.Dir(m.Config.CA.CertFile), "ca.key")
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		return certificates.Run(ctx, loopback, certificates.Config{CAFile: m.Config.CA.CertFile, CAKeyFile: caKey})
	})); err != nil {
		return nil, err
	}
	for _, setup := range m.Config.Controllers {
		if err := setup(mgr, m.Config.Options.Scheduling); err != nil {
			return nil, fmt.Errorf("failed to set up a controller: %w", err)
		}
	}
	return mgr, nil
}

func ptr[T any](v T) *T { return &v }
