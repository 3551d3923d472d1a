package integration

import (
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"meseta.dev/meseta/pkg/master/mastertest"
	"meseta.dev/meseta/pkg/pki"
)

// TestSecurityClientCertificates checks that the master, which verifies a
// client certificate chain once for a while rather than at every request,
// authenticates a certificate of its authority as its subject at every
// request, and refuses one of another authority at every request.
func TestSecurityClientCertificates(t *testing.T) {
	m := mastertest.Start(t, mastertest.Options{})

	t.Run("a certificate of the cluster's authority is its subject at every request", func(t *testing.T) {
		alice := certIdentity(t, m, "alice", "auditors")
		for range 5 {
			who, err := whoami(t.Context(), alice.config)
			if err != nil {
				t.Fatal(err)
			}
			if who.Username != "alice" || len(who.Groups) != 2 || who.Groups[0] != "auditors" || who.Groups[1] != "system:authenticated" {
				t.Fatalf("a certificate for alice in auditors authenticated as %+v", who)
			}
		}
	})

	t.Run("a certificate of another authority is refused at every request", func(t *testing.T) {
		stranger, err := pki.LoadOrCreateCA(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		pair, err := stranger.LoadOrCreateClient(t.TempDir(), "forged", "system:admin", "system:masters")
		if err != nil {
			t.Fatal(err)
		}
		cfg := rest.AnonymousClientConfig(m.RESTConfig())
		cfg.CertFile, cfg.KeyFile = pair.CertFile, pair.KeyFile
		for range 3 {
			who, err := whoami(t.Context(), cfg)
			if err == nil {
				t.Fatalf("a certificate for system:admin from another authority authenticated as %+v", who)
			}
			if !apierrors.IsUnauthorized(err) {
				t.Fatalf("a certificate from another authority: want 401 Unauthorized, got %v", err)
			}
		}
	})
}
