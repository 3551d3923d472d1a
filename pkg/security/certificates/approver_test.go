package certificates

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"testing"

	. "github.com/onsi/gomega"
	capi "k8s.io/api/certificates/v1"
)

func csrFor(t *testing.T, tmpl *x509.CertificateRequest, usages ...capi.KeyUsage) *capi.CertificateSigningRequest {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	if usages == nil {
		usages = []capi.KeyUsage{capi.UsageDigitalSignature, capi.UsageClientAuth}
	}
	return &capi.CertificateSigningRequest{Spec: capi.CertificateSigningRequestSpec{
		Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		SignerName: capi.KubeAPIServerClientSignerName,
		Usages:     usages,
	}}
}

func TestNodeClientRequest(t *testing.T) {
	nodeSubject := pkix.Name{CommonName: "meseta:node:node-a", Organization: []string{"meseta:nodes"}}
	tests := []struct {
		name     string
		csr      *capi.CertificateSigningRequest
		wantNode string
		wantErr  string
	}{
		{name: "an agent's request", csr: csrFor(t, &x509.CertificateRequest{Subject: nodeSubject}), wantNode: "node-a"},
		{name: "with key encipherment", csr: csrFor(t, &x509.CertificateRequest{Subject: nodeSubject},
			capi.UsageClientAuth, capi.UsageKeyEncipherment), wantNode: "node-a"},
		{name: "a person", csr: csrFor(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "alice"}}), wantErr: "does not start with"},
		{name: "no node name", csr: csrFor(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "meseta:node:", Organization: []string{"meseta:nodes"}}}), wantErr: "does not start with"},
		{name: "a node name that is not a DNS name", csr: csrFor(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "meseta:node:Node_A", Organization: []string{"meseta:nodes"}}}), wantErr: "node name"},
		{name: "an extra group", csr: csrFor(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "meseta:node:node-a", Organization: []string{"meseta:nodes", "system:masters"}}}), wantErr: "organization"},
		{name: "no group", csr: csrFor(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "meseta:node:node-a"}}), wantErr: "organization"},
		{name: "an organizational unit", csr: csrFor(t, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "meseta:node:node-a", Organization: []string{"meseta:nodes"}, OrganizationalUnit: []string{"x"}}}), wantErr: "organizational units"},
		{name: "a DNS name", csr: csrFor(t, &x509.CertificateRequest{Subject: nodeSubject, DNSNames: []string{"node-a"}}), wantErr: "subject alternative names"},
		{name: "an IP address", csr: csrFor(t, &x509.CertificateRequest{Subject: nodeSubject, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}}), wantErr: "subject alternative names"},
		{name: "server auth", csr: csrFor(t, &x509.CertificateRequest{Subject: nodeSubject}, capi.UsageClientAuth, capi.UsageServerAuth), wantErr: "usage"},
		{name: "no client auth", csr: csrFor(t, &x509.CertificateRequest{Subject: nodeSubject}, capi.UsageDigitalSignature), wantErr: "client auth"},
		{name: "not PEM", csr: &capi.CertificateSigningRequest{Spec: capi.CertificateSigningRequestSpec{Request: []byte("garbage")}}, wantErr: "PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			node, err := nodeClientRequest(tt.csr)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(node).To(Equal(tt.wantNode))
		})
	}
}
