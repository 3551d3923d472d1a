package bootstrap

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"

	"meseta.dev/meseta/pkg/pki"
)

func TestNeedsRenewal(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cert := &x509.Certificate{NotBefore: start, NotAfter: start.Add(100 * time.Hour)}
	tests := []struct {
		name string
		now  time.Time
		want bool
	}{
		{"fresh", start.Add(time.Hour), false},
		{"most of its life left", start.Add(79 * time.Hour), false},
		{"less than a fifth left", start.Add(81 * time.Hour), true},
		{"expired", start.Add(101 * time.Hour), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(needsRenewal(cert, tt.now)).To(Equal(tt.want))
		})
	}
}

func TestLoadCertificate(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.LoadOrCreateCA(filepath.Join(dir, "ca"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.LoadOrCreateCA(filepath.Join(dir, "other-ca"))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := ca.LoadOrCreateClient(dir, "good", "meseta:node:node-a", "meseta:nodes")
	person, _ := ca.LoadOrCreateClient(dir, "person", "alice")
	foreign, _ := other.LoadOrCreateClient(dir, "foreign", "meseta:node:node-a", "meseta:nodes")
	cfg := &rest.Config{TLSClientConfig: rest.TLSClientConfig{CAFile: ca.CertFile}}

	tests := []struct {
		name      string
		cert, key string
		wantCert  bool
		wantErr   string
	}{
		{name: "the node's certificate", cert: good.CertFile, key: good.KeyFile, wantCert: true},
		{name: "nothing yet", cert: filepath.Join(dir, "none.crt"), key: filepath.Join(dir, "none.key")},
		{name: "another identity", cert: person.CertFile, key: person.KeyFile, wantErr: "not meseta:node:node-a"},
		{name: "another cluster's CA", cert: foreign.CertFile, key: foreign.KeyFile, wantErr: "not from this cluster's CA"},
		{name: "a key that does not match", cert: good.CertFile, key: person.KeyFile, wantErr: "private key does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			cert, err := loadCertificate(tt.cert, tt.key, "node-a", cfg)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cert != nil).To(Equal(tt.wantCert))
		})
	}
}

func TestLoadOrCreateKeyKeepsTheKey(t *testing.T) {
	g := NewWithT(t)
	path := filepath.Join(t.TempDir(), KeyFileName)
	first, err := loadOrCreateKey(path)
	g.Expect(err).NotTo(HaveOccurred())
	info, err := os.Stat(path)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))
	second, err := loadOrCreateKey(path)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(second.Public()).To(Equal(first.Public()))

	g.Expect(os.WriteFile(path, []byte("not a key"), 0o600)).To(Succeed())
	_, err = loadOrCreateKey(path)
	g.Expect(err).To(MatchError(ContainSubstring("no EC private key")))
}

func TestBootstrapValidatesInput(t *testing.T) {
	g := NewWithT(t)
	_, err := Bootstrap(t.Context(), nil, "node-a", t.TempDir())
	g.Expect(err).To(MatchError(ContainSubstring("bootstrap client configuration")))
	_, err = Bootstrap(t.Context(), &rest.Config{Host: "https://127.0.0.1:1"}, "Node_A", t.TempDir())
	g.Expect(err).To(MatchError(ContainSubstring("invalid node name")))
}
