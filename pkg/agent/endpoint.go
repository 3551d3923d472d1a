package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/authenticatorfactory"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/tasks"
)

// delegatedAuth returns the endpoint's authenticator, which accepts client
// certificates signed by the CA of the agent's kubeconfig and bearer tokens the
// API server vouches for (TokenReview), and its authorizer, which asks the API
// server (SubjectAccessReview).
func delegatedAuth(cfg *rest.Config, clientset kubernetes.Interface) (authenticator.Request, authorizer.Authorizer, error) {
	backoff := &wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5}
	authnCfg := authenticatorfactory.DelegatingAuthenticatorConfig{
		TokenAccessReviewClient:  clientset.AuthenticationV1(),
		TokenAccessReviewTimeout: 10 * time.Second,
		WebhookRetryBackoff:      backoff,
		CacheTTL:                 2 * time.Minute,
	}
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		data, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("failed to read the cluster CA: %w", err)
		}
		ca = data
	}
	if len(ca) > 0 {
		provider, err := dynamiccertificates.NewStaticCAContent("cluster-ca", ca)
		if err != nil {
			return nil, nil, fmt.Errorf("bad cluster CA in the kubeconfig: %w", err)
		}
		authnCfg.ClientCertificateCAContentProvider = provider
	}
	authn, _, err := authnCfg.New()
	if err != nil {
		return nil, nil, err
	}
	authz, err := authorizerfactory.DelegatingAuthorizerConfig{
		SubjectAccessReviewClient: clientset.AuthorizationV1(),
		AllowCacheTTL:             time.Minute,
		DenyCacheTTL:              10 * time.Second,
		WebhookRetryBackoff:       backoff,
	}.New()
	if err != nil {
		return nil, nil, err
	}
	return authn, authz, nil
}

// taskFiles finds the sandboxes of the node's tasks for the endpoint, from the
// task cache. The sandbox path is computed from the task's identity, never
// taken from its status.
type taskFiles struct{ agent *Agent }

// Sandbox implements logs.TaskFiles.
func (f *taskFiles) Sandbox(namespace, name string) (string, bool, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t := &v1alpha1.Task{}
	if err := f.agent.mgr.GetClient().Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, t); err != nil {
		return "", false, false
	}
	if t.Spec.NodeName != f.agent.cfg.Options.NodeName {
		return "", false, false
	}
	dir := filepath.Join(f.agent.cfg.Options.WorkDir, TasksDir, tasks.ContainerID(t.Namespace, t.Name, t.UID), tasks.SandboxDirName)
	if _, err := os.Stat(dir); err != nil {
		dir = ""
	}
	return dir, t.IsTerminal(), true
}
