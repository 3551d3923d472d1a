package simulate

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"
)

// TestNodeIdentities checks that a fleet with NodeIdentities makes a node's
// requests as that node's agent, and every other request as itself.
func TestNodeIdentities(t *testing.T) {
	type seen struct {
		user   string
		groups []string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{user: r.Header.Get(transport.ImpersonateUserHeader), groups: r.Header.Values(transport.ImpersonateGroupHeader)}
	}))
	defer srv.Close()

	cfg := Config{REST: &rest.Config{Host: srv.URL}, Nodes: []string{"sim-00000"}, NodeIdentities: true}.complete()
	hc, err := rest.HTTPClientFor(cfg.REST)
	if err != nil {
		t.Fatal(err)
	}
	get := func(ctx context.Context) seen {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Add(transport.ImpersonateGroupHeader, "system:masters") // never carried over
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return <-got
	}

	node := get(asNode(context.Background(), "sim-00007"))
	if node.user != "meseta:node:sim-00007" || len(node.groups) != 1 || node.groups[0] != "meseta:nodes" {
		t.Errorf("a node's request: user %q groups %q, want meseta:node:sim-00007 in [meseta:nodes]", node.user, node.groups)
	}
	fleet := get(context.Background())
	if fleet.user != "" || len(fleet.groups) != 1 {
		t.Errorf("the fleet's own request: user %q groups %q, want no impersonation added", fleet.user, fleet.groups)
	}

	plain := Config{REST: &rest.Config{Host: srv.URL}, Nodes: []string{"sim-00000"}}.complete()
	if plain.REST.WrapTransport != nil {
		t.Error("a fleet without NodeIdentities wraps its transport")
	}
}
