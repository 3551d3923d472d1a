package ledger

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/resources"
)

// Key is the namespace and name of an Offer, a Task or a Framework.
type Key = types.NamespacedName

// Errors returned by the ledger. Test them with errors.Is.
var (
	// ErrOvercommit says an offer or a task would commit a node past its
	// allocatable resources. The error's text says which resource is short.
	ErrOvercommit = errors.New("node would be committed past its allocatable resources")
	// ErrUnknownNode says the ledger has no allocatable resources for the node.
	ErrUnknownNode = errors.New("node is unknown")
	// ErrOfferExists says an offer with the same key is already recorded.
	ErrOfferExists = errors.New("offer is already recorded")
	// ErrNotOutstanding says an offer is not (or no longer) outstanding.
	ErrNotOutstanding = errors.New("offer is not outstanding")
	// ErrClaimed says another operation holds a claim on the offer.
	ErrClaimed = errors.New("offer is claimed by another operation")
)

// Offer is an outstanding offer as the ledger records it.
type Offer struct {
	// Key is the Offer's namespace and name.
	Key Key
	// UID is the Offer's UID, empty until it was created.
	UID types.UID
	// ResourceVersion is the Offer's resourceVersion the master last saw, the
	// precondition of its next status write.
	ResourceVersion string
	// Framework is the framework the offer is made to.
	Framework Key
	// Node is the node whose resources are offered.
	Node string
	// Resources are the offered resources.
	Resources resources.Vector
	// ExpiresAt is when the offer expires; zero for never.
	ExpiresAt time.Time
	// Seq is the offer's sequence number on its node, part of its name.
	Seq uint64
}

// Task is a task that holds resources on a node: bound and not terminal, or
// being bound on offers that were accepted for it.
type Task struct {
	// Key is the Task's namespace and name.
	Key Key
	// UID is the Task's UID.
	UID types.UID
	// Framework is the framework that launched it.
	Framework Key
	// Node is the node it is bound to.
	Node string
	// Resources are what it holds.
	Resources resources.Vector
}

// State is what Reset rebuilds the ledger from.
type State struct {
	// Offers are the outstanding offers.
	Offers []Offer
	// Tasks are the tasks that hold resources.
	Tasks []Task
	// Final are the UIDs of tasks known to be terminal: ObserveTask never
	// records them again.
	Final []types.UID
	// Seq is, per node, the highest offer sequence number in use by any Offer
	// object, outstanding or not.
	Seq map[string]uint64
}

// NodeUsage is one node's line in the ledger.
type NodeUsage struct {
	// Name is the node's name.
	Name string
	// Known is true while the node exists and reported its allocatable
	// resources.
	Known bool
	// Allocatable is what tasks may use of the node in total.
	Allocatable resources.Vector
	// Allocated is what its tasks hold.
	Allocated resources.Vector
	// Offered is what its outstanding offers hold.
	Offered resources.Vector
	// Tasks and Offers count them.
	Tasks, Offers int
}

// Free returns allocatable minus allocated minus offered, never below zero.
func (u NodeUsage) Free() resources.Vector {
	return u.Allocatable.Sub(u.Allocated).Sub(u.Offered)
}

// Usage is what a framework holds. Its vectors have no ports.
type Usage struct {
	// Allocated is what its tasks hold.
	Allocated resources.Vector
	// Offered is what its outstanding offers hold.
	Offered resources.Vector
	// Tasks and Offers count them.
	Tasks, Offers int
}

type node struct {
	name        string
	known       bool
	allocatable resources.Vector
	allocated   resources.Vector
	offered     resources.Vector
	tasks       map[Key]struct{}
	offers      map[Key]struct{}
	seq         uint64
}

type offerEntry struct {
	Offer
	claimed bool
}

// Ledger is the book of committed resources. The zero value is not usable;
// call New.
type Ledger struct {
	mu     sync.Mutex
	nodes  map[string]*node
	offers map[Key]*offerEntry
	tasks  map[Key]*Task
	fws    map[Key]*Usage
	final  map[types.UID]struct{}

	readyOnce sync.Once
	ready     chan struct{}
}

// New returns an empty ledger that is not ready until Reset.
func New() *Ledger {
	return &Ledger{
		nodes:  map[string]*node{},
		offers: map[Key]*offerEntry{},
		tasks:  map[Key]*Task{},
		fws:    map[Key]*Usage{},
		final:  map[types.UID]struct{}{},
		ready:  make(chan struct{}),
	}
}

// Ready is closed once the ledger was first Reset.
func (l *Ledger) Ready() <-chan struct{} { return l.ready }

// IsReady reports whether the ledger was Reset.
func (l *Ledger) IsReady() bool {
	select {
	case <-l.ready:
		return true
	default:
		return false
	}
}

// Reset replaces every offer, task and claim with s, keeping what it knows of
// the nodes' allocatable resources, and makes the ledger ready. Nothing of s
// is refused: it is what the API holds.
func (l *Ledger) Reset(s State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, n := range l.nodes {
		if !n.known {
			delete(l.nodes, name)
			continue
		}
		n.allocated, n.offered = resources.Vector{}, resources.Vector{}
		n.tasks, n.offers = nil, nil
	}
	l.offers = make(map[Key]*offerEntry, len(s.Offers))
	l.tasks = make(map[Key]*Task, len(s.Tasks))
	l.fws = map[Key]*Usage{}
	l.final = make(map[types.UID]struct{}, len(s.Final))
	for _, uid := range s.Final {
		l.final[uid] = struct{}{}
	}
	for name, seq := range s.Seq {
		n := l.node(name)
		n.seq = max(n.seq, seq)
	}
	for _, o := range s.Offers {
		if _, dup := l.offers[o.Key]; !dup {
			l.addOffer(o)
		}
	}
	for _, t := range s.Tasks {
		if _, dup := l.tasks[t.Key]; !dup {
			l.addTask(t)
		}
	}
	l.readyOnce.Do(func() { close(l.ready) })
}

// node returns the entry of a node, creating an unknown one.
func (l *Ledger) node(name string) *node {
	n, ok := l.nodes[name]
	if !ok {
		n = &node{name: name}
		l.nodes[name] = n
	}
	return n
}

func (l *Ledger) usage(fw Key) *Usage {
	u, ok := l.fws[fw]
	if !ok {
		u = &Usage{}
		l.fws[fw] = u
	}
	return u
}

// SetAllocatable records a node's allocatable resources and that it exists.
func (l *Ledger) SetAllocatable(name string, v resources.Vector) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.node(name)
	n.known, n.allocatable = true, v
}

// ForgetNode records that a node is gone: it has nothing allocatable any more.
// What its tasks and offers hold stays until they are removed.
func (l *Ledger) ForgetNode(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, ok := l.nodes[name]
	if !ok {
		return
	}
	n.known, n.allocatable = false, resources.Vector{}
	if len(n.tasks) == 0 && len(n.offers) == 0 && n.seq == 0 {
		delete(l.nodes, name)
	}
}

// NextSeq returns a sequence number for a new offer on the node, higher than
// any returned or known before.
func (l *Ledger) NextSeq(name string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.node(name)
	n.seq++
	return n.seq
}

// committedFit reports, when v does not fit in what the node has left, an
// error wrapping ErrOvercommit that says what is short.
func (n *node) committedFit(v resources.Vector) error {
	if !n.known {
		return fmt.Errorf("node %s: %w", n.name, ErrUnknownNode)
	}
	free := n.allocatable.Sub(n.allocated).Sub(n.offered)
	if free.Contains(v) && fitsScalars(n, v) {
		return nil
	}
	return &OvercommitError{Node: n.name, Free: free, Need: v}
}

// fitsScalars checks the scalars against allocatable exactly (Sub clamps at
// zero, so a node already over would look as if it had nothing free, which
// Contains handles; this guards the sum itself).
func fitsScalars(n *node, v resources.Vector) bool {
	sum := n.allocated.Add(n.offered).Add(v)
	return sum.MilliCPUs <= n.allocatable.MilliCPUs && sum.Mem <= n.allocatable.Mem &&
		sum.Disk <= n.allocatable.Disk && sum.MilliGPUs <= n.allocatable.MilliGPUs
}

// OvercommitError says what a node lacks to hold an offer or a task.
type OvercommitError struct {
	// Node is the node's name.
	Node string
	// Free is what the node has left.
	Free resources.Vector
	// Need is what was asked for.
	Need resources.Vector
}

// Error says "node n has cpus 0.5 free but cpus 1 is needed".
func (e *OvercommitError) Error() string {
	short := e.Free.Shortfall(e.Need)
	return fmt.Sprintf("node %s has %s free, short of %s", e.Node, orNothing(e.Free), orNothing(short))
}

// Unwrap returns ErrOvercommit.
func (e *OvercommitError) Unwrap() error { return ErrOvercommit }

func orNothing(v resources.Vector) string {
	if v.IsZero() {
		return "nothing"
	}
	return v.String()
}
