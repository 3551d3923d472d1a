package agent

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/hostresources"
)

// Config is everything an agent needs to start, built from validated options.
type Config struct {
	// Options are the completed options.
	Options CompletedOptions
	// REST reaches the API server as the agent.
	REST *rest.Config
	// Capacity and Allocatable are the node's resources.
	Capacity, Allocatable v1alpha1.Resources
	// Attributes are the node's attributes.
	Attributes map[string]string
	// Hostname is the machine's host name.
	Hostname string
	// Address is the node's published address.
	Address string
}

// Config loads the kubeconfig, detects the host's resources and completes the
// node's address.
func (c CompletedOptions) Config() (*Config, error) {
	cfg := &Config{Options: c}
	if c.RESTConfig != nil {
		cfg.REST = rest.CopyConfig(c.RESTConfig)
	} else {
		rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig: %w", err)
		}
		cfg.REST = rc
	}
	cfg.REST.QPS, cfg.REST.Burst = 100, 200
	given, err := hostresources.ParseResources(c.Resources)
	if err != nil {
		return nil, fmt.Errorf("--resources: %w", err)
	}
	if err := os.MkdirAll(c.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("--work-dir: %w", err)
	}
	detected, err := hostresources.Detector{}.Detect(c.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("failed to detect the host's resources (give them with --resources): %w", err)
	}
	cfg.Capacity, cfg.Allocatable = resourcesFor(detected, given)
	if cfg.Attributes, err = hostresources.ParseAttributes(c.Attributes); err != nil {
		return nil, fmt.Errorf("--attributes: %w", err)
	}
	if cfg.Hostname, err = os.Hostname(); err != nil {
		cfg.Hostname = c.NodeName
	}
	cfg.Address = c.Address
	if cfg.Address == "" {
		cfg.Address = addressTowards(cfg.REST.Host)
	}
	return cfg, nil
}

// addressTowards returns the local IP address this host reaches server from,
// else its first non-loopback address, else 127.0.0.1.
func addressTowards(server string) string {
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		host := u.Host
		if _, _, err := net.SplitHostPort(host); err != nil {
			host = net.JoinHostPort(host, "443")
		}
		// A UDP "connection" sends nothing; it only picks the route.
		if conn, err := net.DialTimeout("udp", host, 2*time.Second); err == nil {
			defer conn.Close()
			return conn.LocalAddr().(*net.UDPAddr).IP.String()
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return "127.0.0.1"
}
