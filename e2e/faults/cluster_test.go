package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/e2e/faults/history"
	"meseta.dev/meseta/pkg/sdk"
)

// clusterOptions describe the cluster a scenario starts.
type clusterOptions struct {
	// masters is 1, or 3 for an embedded etcd cluster of three members with
	// leader election.
	masters int
	// agents are the nodes, each with its --resources.
	agents []agentSpec
	// netns puts each agent in a network namespace of its own, joined to the
	// masters by a veth pair, so that it can be partitioned.
	netns bool
	// nodeTimeout is the masters' --node-timeout.
	nodeTimeout time.Duration
	// masterArgs are extra flags for every master.
	masterArgs []string
}

// agentSpec is one agent of a cluster.
type agentSpec struct {
	node      string
	resources string
}

// cluster is a running set of masters and agents, with a recorder of its
// history and a sampler of its containers.
type cluster struct {
	t       *testing.T
	dir     string
	ip      string // the masters' bind address
	opts    clusterOptions
	masters []*master
	agents  []*agent
	keepers []*process
	net     *network
	hist    *history.History
	fig     *figures
	current int // the master clients talk to
	clients map[int]client.WithWatch
	stopBg  context.CancelFunc
	bgDone  chan struct{}
}

// newCluster starts a cluster for scenario and registers its teardown: every
// process, container, monitor and network namespace it made is gone when the
// test ends, whether it passed or not.
func newCluster(t *testing.T, scenario string, opts clusterOptions) *cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the fault tests need root: network namespaces and runc containers")
	}
	if opts.masters == 0 {
		opts.masters = 1
	}
	if opts.nodeTimeout == 0 {
		opts.nodeTimeout = 4 * time.Second
	}
	c := &cluster{t: t, dir: t.TempDir(), ip: "127.0.0.1", opts: opts, hist: &history.History{},
		fig: &figures{t: t, scenario: scenario}}
	if opts.netns {
		c.net = newNetwork(t, len(opts.agents))
		c.ip = c.net.hostIP
	}
	t.Cleanup(c.dumpLogsOnFailure)
	c.startMasters()
	if opts.masters > 1 {
		// Clients and agents talk to a follower, so that the leader can die.
		c.current = (c.leader(2*time.Minute) + 1) % opts.masters
	}
	for i, spec := range opts.agents {
		a := c.newAgent(i, spec)
		a.master = c.current
		c.agents = append(c.agents, a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stopBg, c.bgDone = cancel, make(chan struct{})
	go func() {
		defer close(c.bgDone)
		done := make(chan struct{})
		go func() { defer close(done); c.record(ctx) }()
		c.sample(ctx)
		<-done
	}()
	t.Cleanup(c.stopBackground)
	for _, a := range c.agents {
		a.start()
	}
	for _, a := range c.agents {
		c.waitNodeReady(a.node, time.Minute)
	}
	return c
}

// stopBackground stops the recorder and the sampler, once.
func (c *cluster) stopBackground() {
	if c.stopBg != nil {
		c.stopBg()
		<-c.bgDone
		c.stopBg = nil
	}
}

// dumpLogsOnFailure logs the tail of every process's log when the test failed.
func (c *cluster) dumpLogsOnFailure() {
	if !c.t.Failed() {
		return
	}
	files, _ := filepath.Glob(filepath.Join(c.dir, "*.log"))
	for _, f := range files {
		data, _ := os.ReadFile(f)
		if len(data) > 6000 {
			data = data[len(data)-6000:]
		}
		c.t.Logf("--- tail of %s:\n%s", filepath.Base(f), data)
	}
}

// restConfig returns the admin configuration of master i.
func (c *cluster) restConfig(i int) *rest.Config {
	c.t.Helper()
	cfg, err := c.loadRestConfig(i)
	if err != nil {
		c.t.Fatal(err)
	}
	return cfg
}

// loadRestConfig is restConfig for goroutines other than the test's.
func (c *cluster) loadRestConfig(i int) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.masters[i].kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("failed to load %s: %w", c.masters[i].kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	cfg.Timeout = 20 * time.Second
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
	return cfg, nil
}

// client returns an admin client of the current master.
func (c *cluster) client() client.WithWatch {
	c.t.Helper()
	if cl, ok := c.clients[c.current]; ok {
		return cl
	}
	cl, err := client.NewWithWatch(c.restConfig(c.current), client.Options{Scheme: sdk.Scheme()})
	if err != nil {
		c.t.Fatal(err)
	}
	if c.clients == nil {
		c.clients = map[int]client.WithWatch{}
	}
	c.clients[c.current] = cl
	return cl
}

// kubeconfig returns the admin kubeconfig of the current master.
func (c *cluster) kubeconfig() string { return c.masters[c.current].kubeconfig }

// kubectl runs the real kubectl against the current master.
func (c *cluster) kubectl(stdin string, args ...string) (string, error) {
	return run(stdin, append([]string{"kubectl", "--kubeconfig", c.kubeconfig()}, args...)...)
}

// mesetactl runs bin/mesetactl against the current master.
func (c *cluster) mesetactl(args ...string) (string, error) {
	return run("", append([]string{binPath(c.t, "mesetactl"), "--kubeconfig", c.kubeconfig()}, args...)...)
}

// apply applies a manifest with kubectl and fails the test on error.
func (c *cluster) apply(manifest string) {
	c.t.Helper()
	if out, err := c.kubectl(manifest, "apply", "-f", "-"); err != nil {
		c.t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
}

// image returns the test image's reference.
func (c *cluster) image() string { return "oci:" + binPath(c.t, "images/busybox") }

// waitNodeReady waits until node is Ready.
func (c *cluster) waitNodeReady(node string, timeout time.Duration) {
	c.t.Helper()
	g := NewWithT(c.t)
	cl := c.client()
	g.Eventually(func() bool {
		n := &v1alpha1.Node{}
		return cl.Get(context.Background(), client.ObjectKey{Name: node}, n) == nil && n.IsReady()
	}).WithTimeout(timeout).WithPolling(100*time.Millisecond).Should(BeTrue(), "node %s did not become Ready", node)
}

// tasks lists the tasks of a namespace.
func (c *cluster) tasks(ctx context.Context, cl client.Client, ns string) []v1alpha1.Task {
	list := &v1alpha1.TaskList{}
	if err := cl.List(ctx, list, client.InNamespace(ns)); err != nil {
		return nil
	}
	return list.Items
}

// checkHistory runs the history checker over everything recorded so far,
// failing the test with every violation. It first waits until the history has
// settled (every task terminal or Running, no stale container); settle bounds
// that wait.
func (c *cluster) checkHistory(settle time.Duration) {
	c.t.Helper()
	var unsettled []history.Violation
	deadline := time.Now().Add(settle)
	for {
		c.sampleOnce()
		time.Sleep(500 * time.Millisecond) // let the recorder catch up
		if unsettled = history.CheckSettled(c.hist); len(unsettled) == 0 || time.Now().After(deadline) {
			break
		}
	}
	events, samples := c.hist.Len()
	c.t.Logf("history: %d events, %d runtime samples", events, samples)
	for _, v := range history.Check(c.hist) {
		c.t.Errorf("invariant violated: %s", v)
	}
	for _, v := range unsettled {
		c.t.Errorf("not settled after %s: %s", settle, v)
	}
}

// agentNamed returns the agent of node.
func (c *cluster) agentNamed(node string) *agent {
	c.t.Helper()
	for _, a := range c.agents {
		if a.node == node {
			return a
		}
	}
	c.t.Fatalf("no agent for node %s", node)
	return nil
}

// logf logs with the elapsed time, for following a scenario in -v output.
func (c *cluster) logf(format string, args ...any) {
	c.t.Helper()
	c.t.Logf("%s "+format, append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}
