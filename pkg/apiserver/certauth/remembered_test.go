package certauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
)

var start = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// testCA is a certificate authority that issues client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T) *testCA {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: start.Add(-time.Hour), NotAfter: start.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	cert, key := issue(t, tmpl, nil)
	return &testCA{cert: cert, key: key}
}

// issue makes a key and a certificate of tmpl for it, signed by ca (by
// itself when ca is nil).
func issue(t *testing.T, tmpl *x509.Certificate, ca *testCA) (*x509.Certificate, *ecdsa.PrivateKey) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	parent, parentKey := tmpl, key
	if ca != nil {
		parent, parentKey = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// authority is the CA's bundle as the API server serves it.
func (ca *testCA) authority(t *testing.T) dynamiccertificates.CAContentProvider {
	bundle := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
	a, err := dynamiccertificates.NewStaticCAContent("test", bundle)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// client issues a client certificate for user in groups, valid until notAfter.
func (ca *testCA) client(t *testing.T, name string, notAfter time.Time, groups ...string) *x509.Certificate {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name, Organization: groups},
		NotBefore: start.Add(-time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	cert, _ := issue(t, tmpl, ca)
	return cert
}

func requestWith(certs ...*x509.Certificate) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, "https://master/apis", nil)
	if len(certs) != 0 {
		req.TLS = &tls.ConnectionState{PeerCertificates: certs}
	}
	return req
}

// switchableAuthority is an authority whose bundle can be rotated.
type switchableAuthority struct {
	mu      sync.Mutex
	current dynamiccertificates.CAContentProvider
}

func (s *switchableAuthority) use(a dynamiccertificates.CAContentProvider) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = a
}

func (s *switchableAuthority) CurrentCABundleContent() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current.CurrentCABundleContent()
}

func (s *switchableAuthority) VerifyOptions() (x509.VerifyOptions, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current.VerifyOptions()
}

// counted returns a Remembered of authority with a clock at the returned
// time, which the test moves, and a count of its verifications.
func counted(authority Authority) (*Remembered, *time.Time, *int) {
	r := NewRemembered(authority)
	now, verifications := start, 0
	r.now = func() time.Time { return now }
	r.verify = func(leaf *x509.Certificate, opts x509.VerifyOptions) ([][]*x509.Certificate, error) {
		verifications++
		return leaf.Verify(opts)
	}
	return r, &now, &verifications
}

func TestRememberedVerifiesAChainOnce(t *testing.T) {
	g := NewWithT(t)
	ca := newTestCA(t)
	r, now, verifications := counted(ca.authority(t))
	cert := ca.client(t, "meseta:node:n1", start.Add(12*time.Hour), "meseta:nodes")

	for range 3 {
		resp, ok, err := r.AuthenticateRequest(requestWith(cert))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ok).To(BeTrue())
		g.Expect(resp.User.GetName()).To(Equal("meseta:node:n1"))
		g.Expect(resp.User.GetGroups()).To(Equal([]string{"meseta:nodes"}))
	}
	g.Expect(*verifications).To(Equal(1), "the chain is verified once")

	other := ca.client(t, "alice", start.Add(12*time.Hour))
	resp, ok, err := r.AuthenticateRequest(requestWith(other))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeTrue())
	g.Expect(resp.User.GetName()).To(Equal("alice"), "another certificate is another user")
	g.Expect(*verifications).To(Equal(2))

	*now = start.Add(RememberFor + time.Second)
	_, ok, _ = r.AuthenticateRequest(requestWith(cert))
	g.Expect(ok).To(BeTrue())
	g.Expect(*verifications).To(Equal(3), "after RememberFor the chain is verified again")
}

func TestRememberedNeverRemembersAFailure(t *testing.T) {
	g := NewWithT(t)
	ca, stranger := newTestCA(t), newTestCA(t)
	r, _, verifications := counted(ca.authority(t))
	forged := stranger.client(t, "system:admin", start.Add(12*time.Hour), "system:masters")
	for i := range 2 {
		resp, ok, err := r.AuthenticateRequest(requestWith(forged))
		g.Expect(err).To(MatchError(ContainSubstring(`verifying the certificate of "system:admin"`)))
		g.Expect(ok).To(BeFalse())
		g.Expect(resp).To(BeNil())
		g.Expect(*verifications).To(Equal(i+1), "a failed chain is verified at every request")
	}

	resp, ok, err := r.AuthenticateRequest(requestWith())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeFalse(), "a request without a certificate is not this authenticator's")
	g.Expect(resp).To(BeNil())
}

func TestRememberedTrustsAChainNoLongerThanItsCertificates(t *testing.T) {
	g := NewWithT(t)
	ca := newTestCA(t)
	r, now, verifications := counted(ca.authority(t))
	cert := ca.client(t, "bob", start.Add(10*time.Second))

	_, ok, err := r.AuthenticateRequest(requestWith(cert))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeTrue())

	*now = start.Add(11 * time.Second)
	_, ok, err = r.AuthenticateRequest(requestWith(cert))
	g.Expect(ok).To(BeFalse(), "an expired certificate is refused though it was verified 11s ago")
	g.Expect(err).To(MatchError(ContainSubstring("expired")))
	g.Expect(*verifications).To(Equal(2))
}

func TestRememberedVerifiesAgainWhenTheAuthorityRotates(t *testing.T) {
	g := NewWithT(t)
	old, rotated := newTestCA(t), newTestCA(t)
	authority := &switchableAuthority{current: old.authority(t)}
	r, _, verifications := counted(authority)
	cert := old.client(t, "carol", start.Add(12*time.Hour))

	_, ok, err := r.AuthenticateRequest(requestWith(cert))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeTrue())

	authority.use(rotated.authority(t))
	_, ok, err = r.AuthenticateRequest(requestWith(cert))
	g.Expect(ok).To(BeFalse(), "a certificate of the old authority is refused once it is rotated out")
	g.Expect(err).To(MatchError(ContainSubstring("unknown authority")))
	g.Expect(*verifications).To(Equal(2))
}

func TestRememberedResponsesAreTheCallers(t *testing.T) {
	g := NewWithT(t)
	ca := newTestCA(t)
	r := NewRemembered(ca.authority(t))
	cert := ca.client(t, "dave", time.Now().Add(time.Hour), "team-a")
	first, _, err := r.AuthenticateRequest(requestWith(cert))
	g.Expect(err).NotTo(HaveOccurred())
	first.User = &user.DefaultInfo{Name: "mallory"}
	first.Audiences = authenticator.Audiences{"elsewhere"}
	second, ok, err := r.AuthenticateRequest(requestWith(cert))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeTrue())
	g.Expect(second.User.GetName()).To(Equal("dave"), "changing a response changes nothing remembered")
	g.Expect(second.Audiences).To(BeEmpty())
}

// denyAll stands for the server's own authenticators: it counts the requests
// that reach it.
type denyAll struct{ reached int }

func (d *denyAll) AuthenticateRequest(*http.Request) (*authenticator.Response, bool, error) {
	d.reached++
	return nil, false, nil
}

func TestInFrontFallsBackToTheServersAuthenticators(t *testing.T) {
	g := NewWithT(t)
	ca, stranger := newTestCA(t), newTestCA(t)
	next := &denyAll{}
	authn := InFront(ca.authority(t), next)

	resp, ok, err := authn.AuthenticateRequest(requestWith(ca.client(t, "erin", time.Now().Add(time.Hour), "team-a")))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(ok).To(BeTrue())
	g.Expect(resp.User.GetGroups()).To(Equal([]string{"team-a", user.AllAuthenticated}))
	g.Expect(next.reached).To(Equal(0))

	_, ok, _ = authn.AuthenticateRequest(requestWith())
	g.Expect(ok).To(BeFalse())
	g.Expect(next.reached).To(Equal(1), "a request without a certificate (a token's) goes on")
	_, ok, _ = authn.AuthenticateRequest(requestWith(stranger.client(t, "frank", time.Now().Add(time.Hour))))
	g.Expect(ok).To(BeFalse())
	g.Expect(next.reached).To(Equal(2), "a certificate that fails goes on")
}
