package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
	// renewBefore is how long before expiry a leaf certificate is reissued at start.
	renewBefore = 30 * 24 * time.Hour
)

// CA is a certificate authority that signs the cluster's certificates.
type CA struct {
	// Cert is the authority's certificate.
	Cert *x509.Certificate
	// Key is the authority's private key.
	Key crypto.Signer
	// CertFile is the path of the PEM-encoded certificate.
	CertFile string
}

// KeyPair names the files of a certificate and its private key.
type KeyPair struct {
	// CertFile is the path of the PEM-encoded certificate.
	CertFile string
	// KeyFile is the path of the PEM-encoded private key.
	KeyFile string
}

// LoadOrCreateCA loads the authority from dir/ca.crt and dir/ca.key, creating both
// when neither exists.
func LoadOrCreateCA(dir string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create certificate directory %s: %w", dir, err)
	}
	pair := KeyPair{CertFile: filepath.Join(dir, "ca.crt"), KeyFile: filepath.Join(dir, "ca.key")}
	cert, key, err := loadPair(pair)
	if err == nil {
		return &CA{Cert: cert, Key: key, CertFile: pair.CertFile}, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("failed to generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "meseta-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("failed to create CA certificate: %w", err)
	}
	if err := writePair(pair, der, caKey); err != nil {
		return nil, err
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: caKey, CertFile: pair.CertFile}, nil
}

// CertPEM returns the authority's certificate, PEM-encoded.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// LoadOrCreateServing returns a serving certificate for hosts (DNS names or IPs)
// in dir/name.crt and dir/name.key. An existing certificate is reissued when it
// does not cover every host, was signed by another authority, or expires soon.
func (ca *CA) LoadOrCreateServing(dir, name string, hosts []string) (KeyPair, error) {
	return ca.loadOrCreateHost(dir, name, hosts, x509.ExtKeyUsageServerAuth)
}

// LoadOrCreatePeer is LoadOrCreateServing for a certificate that also
// authenticates its holder as a client, as an etcd member's does when it dials
// its peers. An existing certificate without both usages is reissued.
func (ca *CA) LoadOrCreatePeer(dir, name string, hosts []string) (KeyPair, error) {
	return ca.loadOrCreateHost(dir, name, hosts, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
}

func (ca *CA) loadOrCreateHost(dir, name string, hosts []string, usages ...x509.ExtKeyUsage) (KeyPair, error) {
	pair := KeyPair{CertFile: filepath.Join(dir, name+".crt"), KeyFile: filepath.Join(dir, name+".key")}
	if cert, _, err := loadPair(pair); err == nil && ca.stillGood(cert) && coversHosts(cert, hosts) && slices.Equal(cert.ExtKeyUsage, usages) {
		return pair, nil
	}
	tmpl := ca.leafTemplate(pkix.Name{CommonName: name})
	tmpl.ExtKeyUsage = usages
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return pair, ca.issue(pair, tmpl)
}

// LoadOrCreateClient returns a client certificate for user in groups, stored in
// dir/name.crt and dir/name.key.
func (ca *CA) LoadOrCreateClient(dir, name, user string, groups ...string) (KeyPair, error) {
	pair := KeyPair{CertFile: filepath.Join(dir, name+".crt"), KeyFile: filepath.Join(dir, name+".key")}
	if cert, _, err := loadPair(pair); err == nil && ca.stillGood(cert) &&
		cert.Subject.CommonName == user && slices.Equal(cert.Subject.Organization, groups) {
		return pair, nil
	}
	tmpl := ca.leafTemplate(pkix.Name{CommonName: user, Organization: groups})
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	return pair, ca.issue(pair, tmpl)
}

// LoadOrCreateSigningKey returns the path of an ECDSA private key in dir/name.key,
// creating it when missing. It signs service account tokens.
func LoadOrCreateSigningKey(dir, name string) (string, error) {
	path := filepath.Join(dir, name+".key")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("failed to generate signing key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", err
	}
	return path, writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

func (ca *CA) leafTemplate(subject pkix.Name) *x509.Certificate {
	now := time.Now()
	return &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               subject,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(leafValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
	}
}

func (ca *CA) issue(pair KeyPair, tmpl *x509.Certificate) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("failed to generate key for %s: %w", pair.CertFile, err)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return fmt.Errorf("failed to sign %s: %w", pair.CertFile, err)
	}
	return writePair(pair, der, key)
}

func (ca *CA) stillGood(cert *x509.Certificate) bool {
	if time.Until(cert.NotAfter) < renewBefore {
		return false
	}
	return cert.CheckSignatureFrom(ca.Cert) == nil
}

func coversHosts(cert *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if h != "" && cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return n
}

func loadPair(pair KeyPair) (*x509.Certificate, crypto.Signer, error) {
	certPEM, err := os.ReadFile(pair.CertFile)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(pair.KeyFile)
	if err != nil {
		return nil, nil, err
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return nil, nil, fmt.Errorf("%s holds no PEM certificate", pair.CertFile)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to parse %s: %w", pair.CertFile, err)
	}
	kblock, _ := pem.Decode(keyPEM)
	if kblock == nil {
		return nil, nil, fmt.Errorf("%s holds no PEM key", pair.KeyFile)
	}
	key, err := x509.ParseECPrivateKey(kblock.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to parse %s: %w", pair.KeyFile, err)
	}
	return cert, key, nil
}

func writePair(pair KeyPair, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(pair.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(pair.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// writeFileAtomic writes data to a temporary file beside path and renames it, so a
// crash never leaves a half-written certificate behind.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
