// Package logs serves the output of a node's tasks from its agent, and fetches
// it for clients such as `mesetactl logs`.
//
// The agent listens on HTTPS (--port, default 10250) with a self-signed
// serving certificate (EnsureServingCert) whose CA it publishes in its Node's
// status.daemonCABundle, beside status.address and status.daemonPort. It
// authenticates callers as a kubelet does: client certificates signed by the
// cluster CA (the one in the agent's kubeconfig), or bearer tokens checked with
// a TokenReview; and authorizes each request with a SubjectAccessReview of verb
// get on the subresource tasks/log of the task, in the task's namespace. Both
// are k8s.io/apiserver's delegating authenticator and authorizer.
//
//	GET /tasks/NAMESPACE/NAME/log?stream=stdout|stderr&follow=true
//
// answers the file from the task's sandbox (never through a symlink the task
// may have planted); with follow it keeps sending what is appended, as tail -f
// does, until the task reaches a terminal state.
//
// A client reads the task's node from the API and calls Fetch:
//
//	err := logs.Fetch(ctx, restConfig, node, "team-a", "report-1", logs.Options{Follow: true}, os.Stdout)
package logs
