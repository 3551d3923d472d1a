package ledger_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/ledger"
	"meseta.dev/meseta/pkg/resources"
)

var (
	fwA = ledger.Key{Namespace: "team-a", Name: "analytics"}
	fwB = ledger.Key{Namespace: "team-b", Name: "batch"}
)

func key(ns, name string) ledger.Key { return ledger.Key{Namespace: ns, Name: name} }

func res(spec string) resources.Vector { return resources.MustParse(spec) }

func offer(name, node, spec string) ledger.Offer {
	return ledger.Offer{Key: key("team-a", name), Framework: fwA, Node: node, Resources: res(spec)}
}

func task(name, node, spec string) ledger.Task {
	return ledger.Task{Key: key("team-a", name), UID: types.UID("uid-" + name), Framework: fwA, Node: node, Resources: res(spec)}
}

func newLedger(nodes map[string]string) *ledger.Ledger {
	l := ledger.New()
	for name, spec := range nodes {
		l.SetAllocatable(name, res(spec))
	}
	l.Reset(ledger.State{})
	return l
}

func TestAddOfferRefusesOvercommit(t *testing.T) {
	tests := []struct {
		name    string
		before  []ledger.Offer
		tasks   []ledger.Task
		offer   ledger.Offer
		wantErr error
	}{
		{name: "fits", offer: offer("o1", "n1", "cpus:4;mem:8Gi")},
		{name: "too many cpus", offer: offer("o1", "n1", "cpus:5"), wantErr: ledger.ErrOvercommit},
		{name: "after a task", tasks: []ledger.Task{task("t1", "n1", "cpus:3")}, offer: offer("o1", "n1", "cpus:2"), wantErr: ledger.ErrOvercommit},
		{name: "after an offer", before: []ledger.Offer{offer("o0", "n1", "cpus:1;mem:7Gi")}, offer: offer("o1", "n1", "mem:2Gi"), wantErr: ledger.ErrOvercommit},
		{name: "port taken", before: []ledger.Offer{offer("o0", "n1", "cpus:1;ports:[31000]")}, offer: offer("o1", "n1", "cpus:1;ports:[31000-31001]"), wantErr: ledger.ErrOvercommit},
		{name: "port not on node", offer: offer("o1", "n1", "cpus:1;ports:[80]"), wantErr: ledger.ErrOvercommit},
		{name: "unknown node", offer: offer("o1", "n9", "cpus:1"), wantErr: ledger.ErrUnknownNode},
		{name: "same key", before: []ledger.Offer{offer("o1", "n1", "cpus:1")}, offer: offer("o1", "n1", "cpus:1"), wantErr: ledger.ErrOfferExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			l := newLedger(map[string]string{"n1": "cpus:4;mem:8Gi;ports:[31000-31010]"})
			for _, tk := range tt.tasks {
				g.Expect(l.AdmitTask(tk)).To(Succeed())
			}
			for _, o := range tt.before {
				g.Expect(l.AddOffer(o)).To(Succeed())
			}
			err := l.AddOffer(tt.offer)
			if tt.wantErr == nil {
				g.Expect(err).NotTo(HaveOccurred())
			} else {
				g.Expect(errors.Is(err, tt.wantErr)).To(BeTrue(), "error %v", err)
			}
			g.Expect(l.Check()).To(Succeed())
		})
	}
}

func TestAcceptReturnsRemainder(t *testing.T) {
	g := NewWithT(t)
	l := newLedger(map[string]string{"n1": "cpus:4;mem:8Gi;ports:[31000-31010]"})
	o := offer("o1", "n1", "cpus:4;mem:8Gi;ports:[31000-31010]")
	g.Expect(l.AddOffer(o)).To(Succeed())
	u, _ := l.Node("n1")
	g.Expect(u.Free().IsZero()).To(BeTrue())

	_, err := l.Claim(o.Key)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = l.Claim(o.Key)
	g.Expect(errors.Is(err, ledger.ErrClaimed)).To(BeTrue())

	g.Expect(l.Accept([]ledger.Key{o.Key}, []ledger.Task{task("t1", "n1", "cpus:1;mem:1Gi;ports:[31005]")})).To(Succeed())
	u, _ = l.Node("n1")
	g.Expect(u.Offered.IsZero()).To(BeTrue())
	g.Expect(u.Allocated.Equal(res("cpus:1;mem:1Gi;ports:[31005]"))).To(BeTrue())
	g.Expect(u.Free().Equal(res("cpus:3;mem:7Gi;ports:[31000-31004,31006-31010]"))).To(BeTrue(), "free %s", u.Free())
	g.Expect(l.Framework(fwA)).To(Equal(ledger.Usage{Allocated: res("cpus:1;mem:1Gi"), Tasks: 1}))

	_, err = l.Claim(o.Key)
	g.Expect(errors.Is(err, ledger.ErrNotOutstanding)).To(BeTrue())

	g.Expect(l.RemoveTask(key("team-a", "t1"), "uid-t1", true)).To(BeTrue())
	u, _ = l.Node("n1")
	g.Expect(u.Free().Equal(res("cpus:4;mem:8Gi;ports:[31000-31010]"))).To(BeTrue())
	g.Expect(l.Frameworks()).To(BeEmpty())
	// A stale copy of the terminal task is not recorded again.
	g.Expect(l.ObserveTask(task("t1", "n1", "cpus:1"))).To(BeFalse())
	g.Expect(l.Check()).To(Succeed())
}

func TestClaimIsAllOrNothing(t *testing.T) {
	g := NewWithT(t)
	l := newLedger(map[string]string{"n1": "cpus:4;mem:8Gi"})
	a, b := offer("a", "n1", "cpus:1"), offer("b", "n1", "cpus:1")
	g.Expect(l.AddOffer(a)).To(Succeed())
	g.Expect(l.AddOffer(b)).To(Succeed())
	_, err := l.Claim(b.Key)
	g.Expect(err).NotTo(HaveOccurred())
	_, err = l.Claim(a.Key, b.Key)
	g.Expect(errors.Is(err, ledger.ErrClaimed)).To(BeTrue())
	_, claimed, _ := l.Offer(a.Key)
	g.Expect(claimed).To(BeFalse(), "a failed claim leaves no claim behind")
	_, err = l.Claim(a.Key, a.Key)
	g.Expect(err).To(HaveOccurred())
	l.Unclaim(b.Key)
	got, err := l.Claim(a.Key, b.Key)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(HaveLen(2))
}

func TestAdmitTask(t *testing.T) {
	g := NewWithT(t)
	l := newLedger(map[string]string{"n1": "cpus:2;mem:4Gi"})
	g.Expect(l.AddOffer(offer("o1", "n1", "cpus:1;mem:1Gi"))).To(Succeed())
	g.Expect(l.AdmitTask(task("t1", "n1", "cpus:1;mem:3Gi"))).To(Succeed())
	err := l.AdmitTask(task("t2", "n1", "cpus:0.5"))
	g.Expect(errors.Is(err, ledger.ErrOvercommit)).To(BeTrue())
	g.Expect(err.Error()).To(Equal("node n1 has nothing free, short of cpus 0.5"))
	g.Expect(l.AdmitTask(task("t1", "n1", "cpus:1;mem:3Gi"))).To(Succeed(), "admitting twice is a no-op")
	err = l.AdmitTask(task("t3", "n2", "cpus:0.5"))
	g.Expect(errors.Is(err, ledger.ErrUnknownNode)).To(BeTrue())
	g.Expect(l.Check()).To(Succeed())
}

func TestHolders(t *testing.T) {
	g := NewWithT(t)
	l := newLedger(map[string]string{"n1": "cpus:4;mem:4Gi", "n2": "cpus:4;mem:4Gi"})
	g.Expect(l.AddOffer(offer("o2", "n1", "cpus:1"))).To(Succeed())
	g.Expect(l.AddOffer(offer("o1", "n1", "cpus:1"))).To(Succeed())
	g.Expect(l.AddOffer(offer("elsewhere", "n2", "cpus:1"))).To(Succeed())
	g.Expect(l.AdmitTask(task("t1", "n1", "cpus:1"))).To(Succeed())
	_, err := l.Claim(key("team-a", "o2"))
	g.Expect(err).NotTo(HaveOccurred())

	offers, tasks := l.Holders("n1")
	g.Expect(offers).To(HaveLen(2))
	g.Expect(offers[0].Key.Name).To(Equal("o1"))
	g.Expect(offers[0].Claimed).To(BeFalse())
	g.Expect(offers[1].Key.Name).To(Equal("o2"))
	g.Expect(offers[1].Claimed).To(BeTrue())
	g.Expect(tasks).To(ConsistOf(task("t1", "n1", "cpus:1")))

	offers, tasks = l.Holders("unknown")
	g.Expect(offers).To(BeEmpty())
	g.Expect(tasks).To(BeEmpty())
}

func TestResetRebuilds(t *testing.T) {
	g := NewWithT(t)
	l := ledger.New()
	l.SetAllocatable("n1", res("cpus:4;mem:8Gi"))
	g.Expect(l.IsReady()).To(BeFalse())
	o := offer("o7", "n1", "cpus:1")
	o.Seq = 7
	l.Reset(ledger.State{
		Offers: []ledger.Offer{o},
		// Over: the API says so, and the ledger records it but Check reports it.
		Tasks: []ledger.Task{task("t1", "n1", "cpus:2"), task("t2", "n1", "cpus:2")},
		Final: []types.UID{"uid-t9"},
		Seq:   map[string]uint64{"n1": 9},
	})
	g.Expect(l.IsReady()).To(BeTrue())
	g.Expect(l.NextSeq("n1")).To(Equal(uint64(10)))
	g.Expect(l.Check()).To(MatchError(ContainSubstring("exceed allocatable")))
	g.Expect(l.ObserveTask(task("t9", "n1", "cpus:1"))).To(BeFalse())
	g.Expect(l.Framework(fwA)).To(Equal(ledger.Usage{Allocated: res("cpus:4"), Offered: res("cpus:1"), Tasks: 2, Offers: 1}))

	l.Reset(ledger.State{})
	u, ok := l.Node("n1")
	g.Expect(ok).To(BeTrue())
	g.Expect(u.Allocatable.Equal(res("cpus:4;mem:8Gi"))).To(BeTrue(), "allocatable survives a reset")
	g.Expect(u.Allocated.IsZero() && u.Offered.IsZero()).To(BeTrue())
	g.Expect(l.Check()).To(Succeed())
}

func TestForgetNode(t *testing.T) {
	g := NewWithT(t)
	l := newLedger(map[string]string{"n1": "cpus:4;mem:8Gi"})
	g.Expect(l.AdmitTask(task("t1", "n1", "cpus:1"))).To(Succeed())
	l.ForgetNode("n1")
	u, ok := l.Node("n1")
	g.Expect(ok).To(BeTrue())
	g.Expect(u.Known).To(BeFalse())
	g.Expect(errors.Is(l.AddOffer(offer("o1", "n1", "cpus:1")), ledger.ErrUnknownNode)).To(BeTrue())
	l.RemoveTask(key("team-a", "t1"), "", false)
	_, ok = l.Node("n1")
	g.Expect(ok).To(BeFalse())
}

// TestConcurrentUse hammers one ledger from many goroutines that offer,
// accept, decline and finish tasks at random, and checks the invariant all
// along (run with -race).
func TestConcurrentUse(t *testing.T) {
	g := NewWithT(t)
	nodes := map[string]string{}
	for i := range 8 {
		nodes[fmt.Sprintf("n%d", i)] = "cpus:4;mem:4Gi;ports:[31000-31003]"
	}
	l := newLedger(nodes)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var checkErr error
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range 2000 {
				node := fmt.Sprintf("n%d", rng.IntN(8))
				u, _ := l.Node(node)
				free := u.Free()
				if free.MilliCPUs < 500 || free.Mem < 256<<20 {
					continue
				}
				spec := resources.Vector{MilliCPUs: 500, Mem: 256 << 20, Ports: free.Ports}
				o := ledger.Offer{Key: key("ns", fmt.Sprintf("o-%d-%d", w, i)), Framework: fwB, Node: node, Resources: spec}
				if err := l.AddOffer(o); err != nil {
					continue // another goroutine took the node meanwhile
				}
				if _, err := l.Claim(o.Key); err != nil {
					continue
				}
				if rng.IntN(2) == 0 {
					l.RemoveOffer(o.Key)
					continue
				}
				tk := ledger.Task{Key: key("ns", fmt.Sprintf("t-%d-%d", w, i)), Framework: fwB, Node: node,
					Resources: resources.Vector{MilliCPUs: 250, Mem: 128 << 20}}
				if err := l.Accept([]ledger.Key{o.Key}, []ledger.Task{tk}); err != nil {
					mu.Lock()
					checkErr = err
					mu.Unlock()
				}
				if rng.IntN(3) > 0 {
					l.RemoveTask(tk.Key, "", true)
				}
			}
		}()
	}
	wg.Wait()
	g.Expect(checkErr).NotTo(HaveOccurred())
	g.Expect(l.Check()).To(Succeed())
}
