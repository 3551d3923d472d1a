package bootstrap

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	capi "k8s.io/api/certificates/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/certificate/csr"
	"k8s.io/klog/v2"

	"meseta.dev/meseta/pkg/security"
)

// Files in the certificate directory.
const (
	// CertFileName holds the node's client certificate (PEM).
	CertFileName = "meseta-node.crt"
	// KeyFileName holds the node's private key (PEM, mode 0600).
	KeyFileName = "meseta-node.key"
)

// renewFraction: a certificate with less than this fraction of its lifetime
// left is renewed.
const renewFraction = 0.2

// Bootstrap returns a client configuration that authenticates as the agent of
// nodeName. It reuses the certificate in certDir while it is valid for this node
// and this cluster; otherwise it requests a new one, with the node's current
// identity when that still works, else with bootstrapConfig (a bootstrap token),
// and waits until the master has signed it or ctx ends. bootstrapConfig also
// gives the server and the CA of the returned configuration.
func Bootstrap(ctx context.Context, bootstrapConfig *rest.Config, nodeName, certDir string) (*rest.Config, error) {
	if bootstrapConfig == nil {
		return nil, errors.New("a bootstrap client configuration is needed for the server address and CA")
	}
	if errs := validation.IsDNS1123Subdomain(nodeName); len(errs) > 0 {
		return nil, fmt.Errorf("invalid node name %q: %s", nodeName, strings.Join(errs, "; "))
	}
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create certificate directory %s: %w", certDir, err)
	}
	logger := klog.FromContext(ctx)
	certPath, keyPath := filepath.Join(certDir, CertFileName), filepath.Join(certDir, KeyFileName)
	nodeConfig := rest.AnonymousClientConfig(bootstrapConfig)
	nodeConfig.CertFile, nodeConfig.KeyFile = certPath, keyPath

	current, err := loadCertificate(certPath, keyPath, nodeName, bootstrapConfig)
	if err != nil {
		logger.Info("Node certificate not usable, requesting a new one", "node", nodeName, "reason", err.Error())
	}
	now := time.Now()
	if current != nil && !needsRenewal(current, now) {
		return nodeConfig, nil
	}
	key, err := loadOrCreateKey(keyPath)
	if err != nil {
		return nil, err
	}
	var requesters []*rest.Config
	if current != nil && now.Before(current.NotAfter) {
		requesters = append(requesters, nodeConfig)
	}
	requesters = append(requesters, bootstrapConfig)
	var errs []error
	for _, cfg := range requesters {
		certPEM, err := requestCertificate(ctx, cfg, nodeName, key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
			return nil, err
		}
		if _, err := loadCertificate(certPath, keyPath, nodeName, bootstrapConfig); err != nil {
			return nil, fmt.Errorf("the master issued an unusable certificate: %w", err)
		}
		logger.Info("Obtained node client certificate", "node", nodeName, "user", security.NodeUser(nodeName))
		return nodeConfig, nil
	}
	return nil, fmt.Errorf("failed to obtain a client certificate for node %s: %w", nodeName, errors.Join(errs...))
}

// unknownTokenWait is how long an Unauthorized answer to a certificate
// request is tried again.
const unknownTokenWait = 20 * time.Second

// requestCertificate asks for a certificate for key as the node's identity and
// waits until it is issued, denied or ctx ends.
func requestCertificate(ctx context.Context, cfg *rest.Config, nodeName string, key crypto.Signer) ([]byte, error) {
	client, err := kubernetes.NewForConfig(rest.AddUserAgent(rest.CopyConfig(cfg), "meseta-agent-bootstrap"))
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: security.NodeUser(nodeName), Organization: []string{security.NodesGroup}},
	}, key)
	if err != nil {
		return nil, fmt.Errorf("failed to create the certificate request: %w", err)
	}
	request := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	usages := []capi.KeyUsage{capi.UsageDigitalSignature, capi.UsageClientAuth}
	name, uid, err := csr.RequestCertificateWithContext(ctx, client, request, "", capi.KubeAPIServerClientSignerName, nil, usages, key)
	// A bootstrap token created moments ago may not be known to the API server
	// yet (it learns tokens by watching their Secrets): an Unauthorized answer
	// is tried again for a while before it counts.
	for deadline := time.Now().Add(unknownTokenWait); apierrors.IsUnauthorized(err) && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
		name, uid, err = csr.RequestCertificateWithContext(ctx, client, request, "", capi.KubeAPIServerClientSignerName, nil, usages, key)
	}
	if apierrors.IsUnauthorized(err) {
		return nil, fmt.Errorf("the bootstrap credentials were not accepted for %s (is the token right and unexpired?): %w", unknownTokenWait, err)
	}
	if err != nil {
		return nil, err
	}
	klog.FromContext(ctx).Info("Waiting for the master to sign the node certificate", "csr", name)
	return csr.WaitForCertificate(ctx, client, name, uid)
}

// loadCertificate returns the certificate in certPath if it matches the key in
// keyPath, names the node's identity, has not expired, and (when the
// configuration names a CA) chains to that CA.
func loadCertificate(certPath, keyPath, nodeName string, cfg *rest.Config) (*x509.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	if cert.Subject.CommonName != security.NodeUser(nodeName) || !slices.Equal(cert.Subject.Organization, []string{security.NodesGroup}) {
		return nil, fmt.Errorf("certificate is for %s %v, not %s", cert.Subject.CommonName, cert.Subject.Organization, security.NodeUser(nodeName))
	}
	if time.Now().After(cert.NotAfter) {
		return nil, fmt.Errorf("certificate expired at %s", cert.NotAfter.Format(time.RFC3339))
	}
	roots, err := caPool(cfg)
	if err != nil || roots == nil {
		return cert, err
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, fmt.Errorf("certificate is not from this cluster's CA: %w", err)
	}
	return cert, nil
}

// needsRenewal reports whether less than renewFraction of the certificate's
// lifetime is left.
func needsRenewal(cert *x509.Certificate, now time.Time) bool {
	lifetime := cert.NotAfter.Sub(cert.NotBefore)
	return cert.NotAfter.Sub(now) < time.Duration(float64(lifetime)*renewFraction)
}

// caPool returns the CA of cfg, or nil when cfg names none.
func caPool(cfg *rest.Config) (*x509.CertPool, error) {
	data := cfg.CAData
	if len(data) == 0 && cfg.CAFile != "" {
		var err error
		if data, err = os.ReadFile(cfg.CAFile); err != nil {
			return nil, err
		}
	}
	if len(data) == 0 {
		return nil, nil
	}
	certs, err := certutil.ParseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("failed to parse the CA: %w", err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// loadOrCreateKey returns the private key in path, creating it when missing. The
// key stays the same across renewals, so the certificate on disk always matches
// it.
func loadOrCreateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		block, _ := pem.Decode(data)
		if block != nil && block.Type == "EC PRIVATE KEY" {
			if key, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
				return key, nil
			}
		}
		return nil, fmt.Errorf("%s holds no EC private key; remove it to create a new one", path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("failed to generate the node key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// writeFileAtomic writes data beside path and renames it into place.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
