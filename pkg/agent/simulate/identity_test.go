package simulate

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
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

// TestRegistrationError checks what a fleet says when a node cannot register:
// a refused impersonation names the rights the credentials lack.
func TestRegistrationError(t *testing.T) {
	refused := apierrors.NewForbidden(schema.GroupResource{Resource: "users"}, "meseta:node:sim-00000",
		errors.New(`User "ops" cannot impersonate resource "users" in API group "" at the cluster scope`))
	other := apierrors.NewForbidden(schema.GroupResource{Group: "meseta.dev", Resource: "nodes"}, "sim-00000",
		errors.New("node sim-00000 may only register itself"))
	tests := []struct {
		name       string
		identities bool
		err        error
		want       string
	}{
		{name: "impersonation refused", identities: true, err: refused,
			want: "node sim-00000: the simulated nodes speak as their agents, by impersonation, and the fleet's credentials must be allowed to impersonate users and groups (or turn NodeIdentities off): " + refused.Error()},
		{name: "other refusal", identities: true, err: other, want: "node sim-00000: " + other.Error()},
		{name: "without identities", identities: false, err: refused, want: "node sim-00000: " + refused.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &Fleet{cfg: Config{NodeIdentities: tt.identities}}
			err := f.registrationError("sim-00000", tt.err)
			if err.Error() != tt.want {
				t.Fatalf("got %q\nwant %q", err, tt.want)
			}
			if !errors.Is(err, tt.err) {
				t.Fatal("the API error is not wrapped")
			}
		})
	}
}
