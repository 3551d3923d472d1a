package app

import (
	"context"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"meseta.dev/meseta/pkg/agent"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/security"
)

func init() {
	devAgent = startDevAgent
}

// startDevAgent runs the dev cluster's agent in this process; when ctx ends it
// kills its tasks, reports them Killed, and stops. It runs as
// meseta:node:<name>, under the same RBAC and admission as agents on other
// machines, with a client certificate the master's CA issues directly (an agent
// elsewhere gets the same through a bootstrap token).
func startDevAgent(ctx context.Context, m *master.Master, o devAgentOptions) (<-chan struct{}, error) {
	opts := agent.NewOptions()
	opts.WorkDir = o.WorkDir
	opts.Runtime = o.Runtime
	opts.Resources = o.Resources
	opts.NodeName = o.NodeName
	opts.BindAddress = "127.0.0.1"
	opts.Address = "127.0.0.1"
	opts.Port = 0
	opts.KillTasksOnExit = true
	completed, err := opts.Complete()
	if err != nil {
		return nil, err
	}
	certDir := filepath.Join(completed.WorkDir, agent.CertDirName)
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return nil, err
	}
	pair, err := m.Config.CA.LoadOrCreateClient(certDir, "meseta-node", security.NodeUser(completed.NodeName), security.NodesGroup)
	if err != nil {
		return nil, err
	}
	completed.RESTConfig = rest.AnonymousClientConfig(m.AdminConfig)
	completed.RESTConfig.CertFile, completed.RESTConfig.KeyFile = pair.CertFile, pair.KeyFile
	if err := completed.Validate(); err != nil {
		return nil, err
	}
	cfg, err := completed.Config()
	if err != nil {
		return nil, err
	}
	// The agent registers and starts in the background, so the cluster is
	// announced as soon as its API is ready; bad options failed above.
	done := make(chan struct{})
	go func() {
		defer close(done)
		a, err := agent.Start(ctx, cfg)
		if err != nil {
			if ctx.Err() == nil {
				klog.FromContext(ctx).Error(err, "The dev cluster's agent failed to start; the cluster runs no tasks")
			}
			return
		}
		<-a.Done()
	}()
	return done, nil
}
