package faults

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
)

// network joins the masters and the agents' network namespaces: the masters
// bind an address added to the host's loopback interface, and each agent's namespace
// reaches it through a veth pair whose host end can be taken down (a
// partition) and up again (healed). Nothing leaves the machine.
//
//	host: lo 10.<n>.0.1/32                     namespace mf<id>-<i>:
//	      veth mf<id>h<i> 10.<n>.<i+1>.1/24 <---> veth mf<id>n<i> 10.<n>.<i+1>.2/24, default via .1
type network struct {
	t      testing.TB
	id     string
	subnet int
	hostIP string
	agents int
}

// newNetwork adds the masters' address and one namespace per agent, and
// removes them all when the test ends.
func newNetwork(t testing.TB, agents int) *network {
	t.Helper()
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	n := &network{t: t, id: hex.EncodeToString(b), subnet: 100 + int(b[0])%100, agents: agents}
	n.hostIP = fmt.Sprintf("10.%d.0.1", n.subnet)
	t.Cleanup(n.remove)
	n.ip("addr", "add", n.hostIP+"/32", "dev", "lo")
	for i := range agents {
		ns, host, peer := n.namespace(i), n.hostLink(i), fmt.Sprintf("mf%sn%d", n.id, i)
		n.ip("netns", "add", ns)
		n.ip("link", "add", host, "type", "veth", "peer", "name", peer)
		n.ip("link", "set", peer, "netns", ns)
		n.ip("addr", "add", fmt.Sprintf("10.%d.%d.1/24", n.subnet, i+1), "dev", host)
		n.ip("link", "set", host, "up")
		n.ip("-n", ns, "link", "set", "lo", "up")
		n.ip("-n", ns, "addr", "add", n.agentIP(i)+"/24", "dev", peer)
		n.ip("-n", ns, "link", "set", peer, "up")
		n.ip("-n", ns, "route", "add", "default", "via", fmt.Sprintf("10.%d.%d.1", n.subnet, i+1))
	}
	return n
}

func (n *network) hostLink(i int) string    { return fmt.Sprintf("mf%sh%d", n.id, i) }
func (n *network) namespace(i int) string   { return fmt.Sprintf("mf%s-%d", n.id, i) }
func (n *network) agentIP(i int) string     { return fmt.Sprintf("10.%d.%d.2", n.subnet, i+1) }
func (n *network) ip(args ...string) string { return n.must(append([]string{"ip"}, args...)...) }

func (n *network) must(argv ...string) string {
	n.t.Helper()
	out, err := run("", argv...)
	if err != nil {
		n.t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return out
}

// partition cuts agent i off the masters.
func (n *network) partition(i int) { n.ip("link", "set", n.hostLink(i), "down") }

// heal reconnects agent i.
func (n *network) heal(i int) { n.ip("link", "set", n.hostLink(i), "up") }

// remove deletes the namespaces (with their veth ends) and the masters'
// address. A namespace still used by a process goes when the process does.
func (n *network) remove() {
	for i := range n.agents {
		_, _ = run("", "ip", "link", "del", n.hostLink(i))
		_, _ = run("", "ip", "netns", "del", n.namespace(i))
	}
	_, _ = run("", "ip", "addr", "del", n.hostIP+"/32", "dev", "lo")
	for i := range n.agents {
		if _, err := os.Stat("/run/netns/" + n.namespace(i)); err == nil {
			n.t.Errorf("network namespace %s was not removed", n.namespace(i))
		}
	}
}
