package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	capi "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/certificate/csr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mesetav1alpha1 "meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/bootstrap"
	"meseta.dev/meseta/pkg/master/mastertest"
	"meseta.dev/meseta/pkg/security"
)

// bootstrapConfig is what an agent started with --token has: the server, its CA
// and the token.
func bootstrapConfig(m *mastertest.Master, token string) *rest.Config {
	cfg := rest.AnonymousClientConfig(m.RESTConfig())
	cfg.BearerToken = token
	return cfg
}

func whoami(ctx context.Context, cfg *rest.Config) (authenticationv1.UserInfo, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		return authenticationv1.UserInfo{}, err
	}
	return r.Status.UserInfo, nil
}

// requestClientCertificate asks, as cfg, for a certificate for cn in orgs and
// returns the request's name.
func requestClientCertificate(ctx context.Context, cfg *rest.Config, cn string, orgs ...string) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: orgs}}, key)
	if err != nil {
		return "", err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	name, _, err := csr.RequestCertificateWithContext(ctx, cs, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		"", capi.KubeAPIServerClientSignerName, nil, []capi.KeyUsage{capi.UsageDigitalSignature, capi.UsageClientAuth}, key)
	return name, err
}

// TestSecurityNodeBootstrap trades a bootstrap token for a node identity end to
// end: token Secret, bootstrap token authentication, certificate request,
// Meseta's approver, the upstream signer, and the agent's certificate directory.
func TestSecurityNodeBootstrap(t *testing.T) {
	m := mastertest.Start(t, mastertest.Options{})
	admin := kubernetes.NewForConfigOrDie(m.RESTConfig())
	ctx := t.Context()
	token, err := security.CreateBootstrapToken(ctx, admin, security.BootstrapTokenOptions{TTL: time.Hour})
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	dir := t.TempDir()
	var nodeConfig *rest.Config

	t.Run("the token alone may only ask for a certificate", func(t *testing.T) {
		g := NewWithT(t)
		cfg := bootstrapConfig(m, token)
		user, err := whoami(ctx, cfg)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(user.Groups).To(ContainElement(security.AgentBootstrapGroup))
		c, err := client.New(cfg, client.Options{Scheme: m.Client(t).Scheme()})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(apierrors.IsForbidden(c.List(ctx, &mesetav1alpha1.TaskList{}))).To(BeTrue())
		g.Expect(apierrors.IsForbidden(c.Create(ctx, &mesetav1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}))).To(BeTrue())
	})

	t.Run("the token is traded for the node's identity", func(t *testing.T) {
		g := NewWithT(t)
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		nodeConfig, err = bootstrap.Bootstrap(ctx, bootstrapConfig(m, token), "node-a", dir)
		g.Expect(err).NotTo(HaveOccurred())
		user, err := whoami(ctx, nodeConfig)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(user.Username).To(Equal("meseta:node:node-a"))
		g.Expect(user.Groups).To(ContainElement(security.NodesGroup))
		key, err := os.Stat(filepath.Join(dir, bootstrap.KeyFileName))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(key.Mode().Perm()).To(Equal(os.FileMode(0o600)))

		c := newIdentity(t, user.Username, nodeConfig).client
		g.Expect(c.Create(ctx, &mesetav1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}})).To(Succeed())
		g.Expect(apierrors.IsForbidden(c.Create(ctx, &mesetav1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-b"}}))).To(BeTrue())
	})

	t.Run("a restarted agent reuses its certificate without the token", func(t *testing.T) {
		g := NewWithT(t)
		before, err := os.ReadFile(filepath.Join(dir, bootstrap.CertFileName))
		g.Expect(err).NotTo(HaveOccurred())
		again, err := bootstrap.Bootstrap(ctx, bootstrapConfig(m, "000000.0000000000000000"), "node-a", dir)
		g.Expect(err).NotTo(HaveOccurred())
		after, err := os.ReadFile(filepath.Join(dir, bootstrap.CertFileName))
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(after).To(Equal(before))
		user, err := whoami(ctx, again)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(user.Username).To(Equal("meseta:node:node-a"))
	})

	t.Run("a node may renew its own identity, not take another's", func(t *testing.T) {
		g := NewWithT(t)
		cs := kubernetes.NewForConfigOrDie(m.RESTConfig())
		own, err := requestClientCertificate(ctx, nodeConfig, "meseta:node:node-a", security.NodesGroup)
		g.Expect(err).NotTo(HaveOccurred())
		other, err := requestClientCertificate(ctx, nodeConfig, "meseta:node:node-b", security.NodesGroup)
		g.Expect(err).NotTo(HaveOccurred())
		g.Eventually(func() []byte {
			got, _ := cs.CertificatesV1().CertificateSigningRequests().Get(ctx, own, metav1.GetOptions{})
			return got.Status.Certificate
		}).WithTimeout(30 * time.Second).ShouldNot(BeEmpty())
		g.Consistently(func() []capi.CertificateSigningRequestCondition {
			got, _ := cs.CertificatesV1().CertificateSigningRequests().Get(ctx, other, metav1.GetOptions{})
			return got.Status.Conditions
		}).WithTimeout(3 * time.Second).Should(BeEmpty())
	})

	t.Run("other subjects wait for an admin", func(t *testing.T) {
		g := NewWithT(t)
		cs := kubernetes.NewForConfigOrDie(m.RESTConfig())
		name, err := requestClientCertificate(ctx, bootstrapConfig(m, token), "alice", "meseta:frameworks")
		g.Expect(err).NotTo(HaveOccurred())
		g.Consistently(func() []capi.CertificateSigningRequestCondition {
			got, _ := cs.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
			return got.Status.Conditions
		}).WithTimeout(3 * time.Second).Should(BeEmpty())

		_, err = requestClientCertificate(ctx, bootstrapConfig(m, token), "meseta:node:root", security.NodesGroup, "system:masters")
		g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "system:masters is refused by admission, got %v", err)
	})

	t.Run("a token pinned to a node yields only that node", func(t *testing.T) {
		g := NewWithT(t)
		pinned, err := security.CreateBootstrapToken(ctx, admin, security.BootstrapTokenOptions{TTL: time.Hour, NodeName: "node-x"})
		g.Expect(err).NotTo(HaveOccurred())
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		_, err = bootstrap.Bootstrap(wctx, bootstrapConfig(m, pinned), "node-y", t.TempDir())
		g.Expect(err).To(MatchError(ContainSubstring("denied")))
		cfg, err := bootstrap.Bootstrap(wctx, bootstrapConfig(m, pinned), "node-x", t.TempDir())
		g.Expect(err).NotTo(HaveOccurred())
		user, err := whoami(ctx, cfg)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(user.Username).To(Equal("meseta:node:node-x"))
	})

	t.Run("an expired token is refused", func(t *testing.T) {
		g := NewWithT(t)
		short, err := security.CreateBootstrapToken(ctx, admin, security.BootstrapTokenOptions{TTL: time.Second})
		g.Expect(err).NotTo(HaveOccurred())
		g.Eventually(func() bool {
			_, err := whoami(ctx, bootstrapConfig(m, short))
			return apierrors.IsUnauthorized(err)
		}).WithTimeout(30*time.Second).WithPolling(time.Second).Should(BeTrue(), "the API server caches a valid token for 10s")
	})
}
