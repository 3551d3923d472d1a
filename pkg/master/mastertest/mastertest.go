// Package mastertest starts a real Meseta master (embedded etcd and the API
// server) inside a test process, on a temporary data dir and free ports, like
// envtest does for controller-runtime projects. It is how Meseta's controllers are
// tested against the real API server rather than fake clients.
//
//	m := mastertest.Start(t, mastertest.Options{})
//	c := m.Client(t)   // a controller-runtime client with Meseta's scheme
package mastertest

import (
	"context"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/config/crd"
	"meseta.dev/meseta/pkg/freeport"
	"meseta.dev/meseta/pkg/master"
)

// Options change how the test master is started.
type Options struct {
	// DataDir reuses a data dir (for restart tests); empty means a new temp dir.
	DataDir string
	// Port reuses a port; zero picks a free one.
	Port int
	// Controllers are registered with the master's manager.
	Controllers []master.ControllerSetup
	// Scheduling overrides the scheduling options when non-zero.
	Scheduling *master.SchedulingOptions
}

// Master is a running test master.
type Master struct {
	*master.Master
	// DataDir and Port are where it runs, for restarting it.
	DataDir string
	Port    int
	cancel  context.CancelFunc
}

// Start starts a master and stops it when the test ends.
func Start(t testing.TB, o Options) *Master {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.Port == 0 {
		o.Port = freeport.Local(t)
	}
	opts := master.NewOptions()
	opts.DataDir = o.DataDir
	opts.Port = o.Port
	if o.Scheduling != nil {
		opts.Scheduling = *o.Scheduling
	}
	completed, err := opts.Complete()
	if err != nil {
		t.Fatal(err)
	}
	if err := completed.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg, err := completed.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.CRDs = crd.Served
	cfg.Controllers = o.Controllers
	ctx, cancel := context.WithCancel(klog.NewContext(context.Background(), klog.Background()))
	m, err := master.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("failed to start master: %v", err)
	}
	tm := &Master{Master: m, DataDir: o.DataDir, Port: o.Port, cancel: cancel}
	t.Cleanup(tm.Stop)
	return tm
}

// Stop stops the master and waits until it has stopped; it is safe to call twice.
func (m *Master) Stop() {
	m.cancel()
	select {
	case <-m.Done():
	case <-time.After(2 * time.Minute):
		panic("master did not stop within 2 minutes")
	}
}

// RESTConfig returns an admin client configuration.
func (m *Master) RESTConfig() *rest.Config {
	return rest.CopyConfig(m.AdminConfig)
}

// Client returns a controller-runtime client with the admin's credentials.
func (m *Master) Client(t testing.TB) client.Client {
	t.Helper()
	c, err := client.New(m.RESTConfig(), client.Options{Scheme: master.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
