package simulate

import (
	"context"
	"net/http"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"

	"meseta.dev/meseta/pkg/security"
)

// nodeKey is the context key of the node a request is made for.
type nodeKey struct{}

// asNode returns ctx marked with the node whose agent makes the requests made
// under it.
func asNode(ctx context.Context, node string) context.Context {
	return context.WithValue(ctx, nodeKey{}, node)
}

// nodeOf returns the node ctx was marked with by asNode, if any.
func nodeOf(ctx context.Context) (string, bool) {
	node, ok := ctx.Value(nodeKey{}).(string)
	return node, ok && node != ""
}

// impersonateNodes makes every request whose context names a node (asNode)
// as that node's agent would: user meseta:node:<node> in group meseta:nodes.
// Requests with no node (the fleet's shared watch of Nodes) keep the fleet's
// own identity.
type impersonateNodes struct {
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t impersonateNodes) RoundTrip(req *http.Request) (*http.Response, error) {
	node, ok := nodeOf(req.Context())
	if !ok {
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	req.Header.Set(transport.ImpersonateUserHeader, security.NodeUser(node))
	req.Header.Del(transport.ImpersonateGroupHeader)
	req.Header.Add(transport.ImpersonateGroupHeader, security.NodesGroup)
	return t.next.RoundTrip(req)
}

// withNodeIdentities returns a copy of rc whose requests made for a node are
// made as that node's agent.
func withNodeIdentities(rc *rest.Config) *rest.Config {
	rc = rest.CopyConfig(rc)
	rc.Wrap(func(next http.RoundTripper) http.RoundTripper { return impersonateNodes{next: next} })
	return rc
}
