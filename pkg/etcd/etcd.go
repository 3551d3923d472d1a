package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
)

// Config describes the embedded member.
type Config struct {
	// DataDir holds the member's data; it is created when missing.
	DataDir string
	// Name is the member's name in the etcd cluster.
	Name string
	// Host is the address the member listens on, normally 127.0.0.1.
	Host string
	// ClientPort and PeerPort are the member's ports; zero picks a free port on the
	// first start and reuses it afterwards.
	ClientPort, PeerPort int
	// InitialCluster lists the members of a new cluster as name=peerURL pairs
	// separated by commas; empty means a cluster of this member alone.
	InitialCluster string
	// JoinExisting joins a running cluster instead of starting a new one.
	JoinExisting bool
	// ServerTLS is the certificate the member serves to clients and peers, and
	// the authority it requires client and peer certificates to be signed by.
	ServerTLS TLS
	// StartTimeout bounds how long Start waits for the member to serve.
	StartTimeout time.Duration
	// LogLevel is etcd's log level (debug, info, warn, error).
	LogLevel string
}

// TLS names the files of a certificate, its key and the trusted authority.
type TLS struct {
	CertFile, KeyFile, CAFile string
}

// Server is a running embedded member.
type Server struct {
	etcd       *embed.Etcd
	clientURLs []string
}

// ports is what the data directory remembers of the member's listeners.
type ports struct {
	Client int `json:"client"`
	Peer   int `json:"peer"`
	// HTTP serves the member's HTTP endpoints (health, version, metrics)
	// apart from the client port, which then serves gRPC alone: muxed on one
	// TLS port, gRPC goes through the HTTP server's handler, which under load
	// queues responses and starves watches. Added later: a data directory may
	// not remember it.
	HTTP int `json:"http,omitempty"`
}

// Start starts the member and waits until it serves clients.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create etcd data dir: %w", err)
	}
	p, err := resolvePorts(cfg)
	if err != nil {
		return nil, err
	}
	ec := embedConfig(cfg, p)
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("failed to start embedded etcd: %w", err)
	}
	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd failed while starting: %w", err)
	case <-time.After(timeout):
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("embedded etcd did not become ready within %s", timeout)
	case <-ctx.Done():
		e.Server.Stop()
		e.Close()
		return nil, ctx.Err()
	}
	return &Server{etcd: e, clientURLs: []string{ec.AdvertiseClientUrls[0].String()}}, nil
}

// embedConfig returns the configuration of the member cfg describes,
// listening on p.
func embedConfig(cfg Config, p ports) *embed.Config {
	ec := embed.NewConfig()
	ec.Name = cfg.Name
	ec.Dir = filepath.Join(cfg.DataDir, "member-data")
	ec.LogLevel = cfg.LogLevel
	if ec.LogLevel == "" {
		ec.LogLevel = "warn"
	}
	clientURL := url.URL{Scheme: "https", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(p.Client))}
	peerURL := url.URL{Scheme: "https", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(p.Peer))}
	ec.ListenClientUrls = []url.URL{clientURL}
	ec.ListenClientHttpUrls = []url.URL{{Scheme: "https", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(p.HTTP))}}
	ec.AdvertiseClientUrls = []url.URL{clientURL}
	ec.ListenPeerUrls = []url.URL{peerURL}
	ec.AdvertisePeerUrls = []url.URL{peerURL}
	ec.ListenMetricsUrls = nil
	tlsInfo := transport.TLSInfo{
		CertFile:       cfg.ServerTLS.CertFile,
		KeyFile:        cfg.ServerTLS.KeyFile,
		TrustedCAFile:  cfg.ServerTLS.CAFile,
		ClientCertAuth: true,
	}
	ec.ClientTLSInfo = tlsInfo
	ec.PeerTLSInfo = tlsInfo
	ec.InitialCluster = cfg.InitialCluster
	if ec.InitialCluster == "" {
		ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	}
	if cfg.JoinExisting {
		ec.ClusterState = embed.ClusterStateFlagExisting
	}
	// Compact history older than an hour so the database does not grow forever.
	ec.AutoCompactionMode = "periodic"
	ec.AutoCompactionRetention = "1h"
	ec.QuotaBackendBytes = 8 << 30
	return ec
}

// ClientURLs returns the URLs clients reach the member at.
func (s *Server) ClientURLs() []string { return s.clientURLs }

// Err reports a fatal error of the running member.
func (s *Server) Err() <-chan error { return s.etcd.Err() }

// Close stops the member: it stops serving clients and peers, then flushes and
// closes its storage.
func (s *Server) Close() {
	s.etcd.Close()
}

// resolvePorts returns the configured ports, else the ports remembered in the data
// dir, else free ports, which it remembers.
func resolvePorts(cfg Config) (ports, error) {
	path := filepath.Join(cfg.DataDir, "ports.json")
	var saved ports
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &saved); err != nil {
			return ports{}, fmt.Errorf("failed to read %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return ports{}, err
	}
	p := ports{Client: firstNonZero(cfg.ClientPort, saved.Client), Peer: firstNonZero(cfg.PeerPort, saved.Peer), HTTP: saved.HTTP}
	var err error
	if p.Client == 0 {
		if p.Client, err = freePort(cfg.Host); err != nil {
			return ports{}, err
		}
	}
	for p.Peer == 0 || p.Peer == p.Client {
		if p.Peer, err = freePort(cfg.Host); err != nil {
			return ports{}, err
		}
	}
	for p.HTTP == 0 || p.HTTP == p.Client || p.HTTP == p.Peer {
		if p.HTTP, err = freePort(cfg.Host); err != nil {
			return ports{}, err
		}
	}
	if p != saved {
		data, _ := json.Marshal(p)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return ports{}, fmt.Errorf("failed to remember etcd ports: %w", err)
		}
	}
	return p, nil
}

func firstNonZero(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("failed to find a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
