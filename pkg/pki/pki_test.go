package pki

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
)

func TestAuthorityIsCreatedOnceAndReused(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir)
	g.Expect(err).NotTo(HaveOccurred())
	again, err := LoadOrCreateCA(dir)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again.Cert.Raw).To(Equal(ca.Cert.Raw))
	g.Expect(ca.Cert.IsCA).To(BeTrue())
	info, err := os.Stat(filepath.Join(dir, "ca.key"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))
}

func TestLeafCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		issue  func() (KeyPair, error)
		verify func(g Gomega, cert *x509.Certificate)
	}{
		{
			name: "serving certificate covers every host",
			issue: func() (KeyPair, error) {
				return ca.LoadOrCreateServing(dir, "server", []string{"localhost", "127.0.0.1", "node-a"})
			},
			verify: func(g Gomega, cert *x509.Certificate) {
				for _, h := range []string{"localhost", "127.0.0.1", "node-a"} {
					g.Expect(cert.VerifyHostname(h)).To(Succeed(), h)
				}
				g.Expect(cert.ExtKeyUsage).To(ConsistOf(x509.ExtKeyUsageServerAuth))
			},
		},
		{
			name:  "client certificate names user and groups",
			issue: func() (KeyPair, error) { return ca.LoadOrCreateClient(dir, "admin", "meseta:admin", "system:masters") },
			verify: func(g Gomega, cert *x509.Certificate) {
				g.Expect(cert.Subject.CommonName).To(Equal("meseta:admin"))
				g.Expect(cert.Subject.Organization).To(Equal([]string{"system:masters"}))
				g.Expect(cert.ExtKeyUsage).To(ConsistOf(x509.ExtKeyUsageClientAuth))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			pair, err := tt.issue()
			g.Expect(err).NotTo(HaveOccurred())
			cert, _, err := loadPair(pair)
			g.Expect(err).NotTo(HaveOccurred())
			pool := x509.NewCertPool()
			pool.AddCert(ca.Cert)
			_, err = cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			g.Expect(err).NotTo(HaveOccurred())
			tt.verify(g, cert)

			// A second call reuses the same certificate.
			again, err := tt.issue()
			g.Expect(err).NotTo(HaveOccurred())
			reused, _, err := loadPair(again)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(reused.Raw).To(Equal(cert.Raw))
		})
	}
}

func TestServingCertificateIsReissuedForNewHosts(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir)
	g.Expect(err).NotTo(HaveOccurred())
	pair, err := ca.LoadOrCreateServing(dir, "server", []string{"127.0.0.1"})
	g.Expect(err).NotTo(HaveOccurred())
	first, _, _ := loadPair(pair)
	pair, err = ca.LoadOrCreateServing(dir, "server", []string{"127.0.0.1", "10.0.0.7"})
	g.Expect(err).NotTo(HaveOccurred())
	second, _, _ := loadPair(pair)
	g.Expect(second.Raw).NotTo(Equal(first.Raw))
	g.Expect(second.VerifyHostname("10.0.0.7")).To(Succeed())
}

func TestSigningKeyIsStable(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	path, err := LoadOrCreateSigningKey(dir, "sa")
	g.Expect(err).NotTo(HaveOccurred())
	before, _ := os.ReadFile(path)
	_, err = LoadOrCreateSigningKey(dir, "sa")
	g.Expect(err).NotTo(HaveOccurred())
	after, _ := os.ReadFile(path)
	g.Expect(after).To(Equal(before))
}
