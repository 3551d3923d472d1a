package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"meseta.dev/meseta/pkg/freeport"
	"meseta.dev/meseta/pkg/pki"
)

// master is one `meseta master` process and its data dir.
type master struct {
	name       string
	dataDir    string
	port       int
	peerPort   int
	clientPort int
	args       []string
	logPath    string
	kubeconfig string
	proc       *process
}

// startMasters starts the cluster's masters and waits until each is ready. A
// single master runs without leader election, so that one restarted after
// SIGKILL does not wait for its own stale Lease; three masters form one
// embedded etcd cluster, share one authority and elect a leader.
func (c *cluster) startMasters() {
	c.t.Helper()
	n := c.opts.masters
	for i := range n {
		m := &master{name: fmt.Sprintf("m%d", i+1), dataDir: filepath.Join(c.dir, fmt.Sprintf("master-%d", i+1)),
			port: freeport.On(c.t, c.ip), peerPort: freeport.On(c.t, c.ip), clientPort: freeport.On(c.t, c.ip)}
		m.logPath = filepath.Join(c.dir, m.name+".log")
		m.kubeconfig = filepath.Join(m.dataDir, "admin.kubeconfig")
		c.masters = append(c.masters, m)
	}
	var members []string
	for _, m := range c.masters {
		members = append(members, fmt.Sprintf("%s=https://%s:%d", m.name, c.ip, m.peerPort))
	}
	if n > 1 {
		c.shareAuthority()
	}
	for _, m := range c.masters {
		m.args = []string{binPath(c.t, "meseta"), "master", "--data-dir", m.dataDir,
			"--bind-address", c.ip, "--port", fmt.Sprint(m.port),
			"--etcd-name", m.name, "--etcd-peer-port", fmt.Sprint(m.peerPort), "--etcd-client-port", fmt.Sprint(m.clientPort),
			"--node-timeout", c.opts.nodeTimeout.String(), "--node-gone-timeout", "10m",
			"--allocation-interval", "500ms", fmt.Sprintf("--leader-elect=%t", n > 1)}
		if n > 1 {
			// A short leader Lease, so that a killed leader is replaced within seconds.
			m.args = append(m.args, "--etcd-initial-cluster", strings.Join(members, ","),
				"--leader-elect-lease-duration", "4s", "--leader-elect-renew-deadline", "3s", "--leader-elect-retry-period", "500ms")
		}
		m.args = append(m.args, c.opts.masterArgs...)
	}
	for _, m := range c.masters {
		m.proc = startProcess(c.t, m.name, m.logPath, nil, m.args...)
	}
	c.t.Cleanup(c.stopMasters)
	for _, m := range c.masters {
		c.waitMasterReady(m, 2*time.Minute)
	}
}

// stopMasters stops every master at once (one by one, the last would lose
// its etcd quorum while it shuts down).
func (c *cluster) stopMasters() {
	var wg sync.WaitGroup
	for _, m := range c.masters {
		if m.proc == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.proc.stop(60 * time.Second); err != nil {
				c.t.Errorf("%v", err)
			}
		}()
	}
	wg.Wait()
}

// shareAuthority writes one certificate authority and one service account
// signing key into every master's data dir before the first start, so that
// etcd peers trust each other and every master accepts every credential.
func (c *cluster) shareAuthority() {
	c.t.Helper()
	first := filepath.Join(c.masters[0].dataDir, "pki")
	if _, err := pki.LoadOrCreateCA(first); err != nil {
		c.t.Fatal(err)
	}
	if _, err := pki.LoadOrCreateSigningKey(first, "service-account"); err != nil {
		c.t.Fatal(err)
	}
	for _, m := range c.masters[1:] {
		dir := filepath.Join(m.dataDir, "pki")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			c.t.Fatal(err)
		}
		for _, f := range []string{"ca.crt", "ca.key", "service-account.key"} {
			data, err := os.ReadFile(filepath.Join(first, f))
			if err != nil {
				c.t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
				c.t.Fatal(err)
			}
		}
	}
}

// waitMasterReady waits until m's kubeconfig exists and /readyz answers.
func (c *cluster) waitMasterReady(m *master, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if m.proc.exited() {
			c.t.Fatalf("master %s exited while starting:\n%s", m.name, m.proc.tail(4000))
		}
		if _, err := os.Stat(m.kubeconfig); err == nil {
			if _, err := run("", "kubectl", "--kubeconfig", m.kubeconfig, "get", "--raw", "/readyz"); err == nil {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("master %s did not become ready within %s:\n%s", m.name, timeout, m.proc.tail(4000))
}

// killMaster SIGKILLs master i.
func (c *cluster) killMaster(i int) {
	c.masters[i].proc.kill()
	c.logf("SIGKILLed master %s", c.masters[i].name)
}

// restartMaster starts master i again on its data dir and waits until it is
// ready; it returns how long that took.
func (c *cluster) restartMaster(i int) time.Duration {
	c.t.Helper()
	m := c.masters[i]
	start := time.Now()
	m.proc = startProcess(c.t, m.name, m.logPath, nil, m.args...)
	c.waitMasterReady(m, 2*time.Minute)
	return time.Since(start)
}

// leaseAcquired is what a master logs when it wins the leader election.
const leaseAcquired = "successfully acquired lease" // compared in lower case

// leader waits until one of the live masters has won the leader election and
// returns its index.
func (c *cluster) leader(timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for i, m := range c.masters {
			if m.proc.exited() {
				continue
			}
			if data, err := os.ReadFile(m.logPath); err == nil && strings.Contains(strings.ToLower(string(data)), leaseAcquired) {
				return i
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("no master won the leader election within %s", timeout)
	return -1
}
