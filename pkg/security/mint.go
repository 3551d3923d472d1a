package security

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	capi "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/certificate/csr"
)

// ClientCertificate is a minted client certificate and its private key, PEM.
type ClientCertificate struct {
	CertPEM, KeyPEM []byte
}

// MintClientCertificate obtains a client certificate for user in groups through
// the certificates.k8s.io API: it creates a request for the signer
// kubernetes.io/kube-apiserver-client, approves it itself, and waits until the
// master signs it or ctx ends. Approving needs the verb approve on that signer,
// which only cluster admins (system:masters) hold; the API server refuses a
// request for group system:masters outright. expiration caps the certificate's
// life (the signer caps it at a year).
func MintClientCertificate(ctx context.Context, client kubernetes.Interface, user string, groups []string, expiration time.Duration) (*ClientCertificate, error) {
	if strings.TrimSpace(user) == "" {
		return nil, errors.New("a user name is needed")
	}
	if slices.Contains(groups, "system:masters") {
		return nil, errors.New("group system:masters cannot be minted through certificate requests; use the admin kubeconfig in the data dir")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: user, Organization: groups},
	}, key)
	if err != nil {
		return nil, fmt.Errorf("failed to create the certificate request: %w", err)
	}
	request := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	var duration *time.Duration
	if expiration > 0 {
		duration = &expiration
	}
	usages := []capi.KeyUsage{capi.UsageDigitalSignature, capi.UsageClientAuth}
	name, uid, err := csr.RequestCertificateWithContext(ctx, client, request, "", capi.KubeAPIServerClientSignerName, duration, usages, key)
	if err != nil {
		return nil, err
	}
	req, err := client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	req.Status.Conditions = append(req.Status.Conditions, capi.CertificateSigningRequestCondition{
		Type:           capi.CertificateApproved,
		Status:         corev1.ConditionTrue,
		Reason:         "MesetaKubeconfigMinted",
		Message:        fmt.Sprintf("client certificate for %s %v minted by %s", user, groups, req.Spec.Username),
		LastUpdateTime: metav1.Now(),
	})
	if _, err := client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, name, req, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("failed to approve certificate request %s (approving needs cluster admin rights): %w", name, err)
	}
	certPEM, err := csr.WaitForCertificate(ctx, client, name, uid)
	if err != nil {
		return nil, fmt.Errorf("certificate request %s was not signed (is a master leading?): %w", name, err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &ClientCertificate{CertPEM: certPEM, KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})}, nil
}

// MintServiceAccountToken returns a token for the service account
// namespace/name, creating the account when it does not exist.
func MintServiceAccountToken(ctx context.Context, client kubernetes.Interface, namespace, name string, expiration time.Duration) (string, error) {
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", fmt.Errorf("invalid service account name %q: %s", name, strings.Join(errs, "; "))
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if _, err := client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("failed to create service account %s/%s: %w", namespace, name, err)
	}
	req := &authenticationv1.TokenRequest{}
	if expiration > 0 {
		seconds := int64(expiration / time.Second)
		req.Spec.ExpirationSeconds = &seconds
	}
	got, err := client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to mint a token for service account %s/%s: %w", namespace, name, err)
	}
	return got.Status.Token, nil
}
