// Package kubeconfig writes and finds the kubeconfig files that clients of a Meseta
// cluster use.
package kubeconfig

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// EnvVar is the environment variable that names a kubeconfig file.
const EnvVar = "KUBECONFIG"

// Credentials are what a kubeconfig authenticates with: a client certificate
// and key, or a bearer token.
type Credentials struct {
	CertFile, KeyFile string
	Token             string
}

// Write writes a kubeconfig with one cluster, user and context named name, for
// server, trusting caPEM. Certificate data is embedded so the file can be copied
// elsewhere on its own.
func Write(path, name, server string, caPEM []byte, creds Credentials) error {
	user := &clientcmdapi.AuthInfo{Token: creds.Token}
	if creds.CertFile != "" {
		cert, err := os.ReadFile(creds.CertFile)
		if err != nil {
			return err
		}
		key, err := os.ReadFile(creds.KeyFile)
		if err != nil {
			return err
		}
		user.ClientCertificateData, user.ClientKeyData = cert, key
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[name] = user
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("failed to write kubeconfig %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// DefaultPath returns the kubeconfig a client uses when none is given: $KUBECONFIG
// (its first entry), else ~/.meseta/kubeconfig.
func DefaultPath() string {
	if env := os.Getenv(EnvVar); env != "" {
		return filepath.SplitList(env)[0]
	}
	return UserPath()
}

// UserPath is ~/.meseta/kubeconfig, which `meseta dev` writes.
func UserPath() string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "/root"
	}
	return filepath.Join(home, ".meseta", "kubeconfig")
}
