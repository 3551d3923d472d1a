package logs

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	certutil "k8s.io/client-go/util/cert"
)

// Files of the serving certificate in its directory.
const (
	ServingCertFile = "serving.crt"
	ServingKeyFile  = "serving.key"
)

// renewBefore: a serving certificate that expires sooner is replaced.
const renewBefore = 30 * 24 * time.Hour

// ServingCert is the agent endpoint's certificate.
type ServingCert struct {
	// CertFile holds the certificate followed by its CA; KeyFile its key.
	CertFile, KeyFile string
	// CABundle is the PEM of the CA that signed it, which clients trust.
	CABundle []byte
}

// EnsureServingCert returns the self-signed serving certificate in dir (made by
// its own CA, as a kubelet does without a signed one), creating it when it is
// missing, about to expire, or does not name every one of hosts (IP addresses
// or DNS names). The certificate stays the same across restarts, so the CA
// bundle published in the Node status does too.
func EnsureServingCert(dir string, hosts []string) (ServingCert, error) {
	sc := ServingCert{CertFile: filepath.Join(dir, ServingCertFile), KeyFile: filepath.Join(dir, ServingKeyFile)}
	if ca, err := reusable(sc.CertFile, sc.KeyFile, hosts); err == nil {
		sc.CABundle = ca
		return sc, nil
	}
	if len(hosts) == 0 {
		return sc, errors.New("the serving certificate needs a host name or address")
	}
	var ips []net.IP
	var names []string
	for _, h := range hosts[1:] {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else {
			names = append(names, h)
		}
	}
	certPEM, keyPEM, err := certutil.GenerateSelfSignedCertKey(hosts[0], ips, names)
	if err != nil {
		return sc, fmt.Errorf("failed to generate the serving certificate: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return sc, err
	}
	if err := writeFile(sc.KeyFile, keyPEM, 0o600); err != nil {
		return sc, err
	}
	if err := writeFile(sc.CertFile, certPEM, 0o644); err != nil {
		return sc, err
	}
	_, ca := splitChain(certPEM)
	sc.CABundle = ca
	return sc, nil
}

// reusable returns the CA of the certificate in certFile when it can be kept.
func reusable(certFile, keyFile string, hosts []string) ([]byte, error) {
	data, err := os.ReadFile(certFile)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(keyFile); err != nil {
		return nil, err
	}
	leafDER, ca := splitChain(data)
	if leafDER == nil || len(ca) == 0 {
		return nil, errors.New("no certificate and CA")
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, err
	}
	if time.Until(leaf.NotAfter) < renewBefore {
		return nil, errors.New("expires soon")
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
				return nil, fmt.Errorf("does not name %s", h)
			}
		} else if !slices.Contains(leaf.DNSNames, h) {
			return nil, fmt.Errorf("does not name %s", h)
		}
	}
	return ca, nil
}

// splitChain returns the DER of the first certificate of a PEM chain and the
// PEM of the others.
func splitChain(data []byte) ([]byte, []byte) {
	var leaf []byte
	var rest []byte
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return leaf, rest
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if leaf == nil {
			leaf = block.Bytes
		} else {
			rest = append(rest, pem.EncodeToMemory(block)...)
		}
	}
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
