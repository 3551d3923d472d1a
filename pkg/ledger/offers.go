package ledger

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"
)

// AddOffer records a new outstanding offer. It refuses an offer that would
// commit its node past its allocatable resources (ErrOvercommit), on a node
// it does not know (ErrUnknownNode), or whose key is taken (ErrOfferExists).
func (l *Ledger) AddOffer(o Offer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.offers[o.Key]; dup {
		return fmt.Errorf("offer %s: %w", o.Key, ErrOfferExists)
	}
	if err := l.node(o.Node).committedFit(o.Resources); err != nil {
		return err
	}
	l.addOffer(o)
	return nil
}

func (l *Ledger) addOffer(o Offer) {
	l.offers[o.Key] = &offerEntry{Offer: o}
	n := l.node(o.Node)
	n.offered = n.offered.Add(o.Resources)
	if n.offers == nil {
		n.offers = map[Key]struct{}{}
	}
	n.offers[o.Key] = struct{}{}
	n.seq = max(n.seq, o.Seq)
	u := l.usage(o.Framework)
	u.Offered = u.Offered.Add(scalars(o.Resources))
	u.Offers++
}

// Offer returns the outstanding offer with the key, and whether an operation
// holds a claim on it.
func (l *Ledger) Offer(key Key) (o Offer, claimed, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.offers[key]
	if !ok {
		return Offer{}, false, false
	}
	return e.Offer, e.claimed, true
}

// OfferState is an outstanding offer and whether it is claimed.
type OfferState struct {
	Offer
	// Claimed is true while an operation holds a claim on the offer.
	Claimed bool
}

// Offers returns every outstanding offer, sorted by key.
func (l *Ledger) Offers() []OfferState {
	l.mu.Lock()
	out := make([]OfferState, 0, len(l.offers))
	for _, e := range l.offers {
		out = append(out, OfferState{Offer: e.Offer, Claimed: e.claimed})
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b OfferState) int { return compareKeys(a.Key, b.Key) })
	return out
}

// SetOfferVersion records the resourceVersion of an outstanding offer.
func (l *Ledger) SetOfferVersion(key Key, rv string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.offers[key]; ok {
		e.ResourceVersion = rv
	}
}

// SetOfferCreated records the UID and resourceVersion the API gave a new
// offer.
func (l *Ledger) SetOfferCreated(key Key, uid types.UID, rv string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.offers[key]; ok {
		e.UID, e.ResourceVersion = uid, rv
	}
}

// Claim claims outstanding offers for one operation, all or none: it fails
// with ErrNotOutstanding when one is not recorded and with ErrClaimed when
// another operation holds one. It returns the claimed offers in the order of
// keys. The offers keep counting as offered until Accept, RemoveOffer or
// Unclaim.
func (l *Ledger) Claim(keys ...Key) ([]Offer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Offer, len(keys))
	for i, k := range keys {
		e, ok := l.offers[k]
		switch {
		case !ok:
			return nil, fmt.Errorf("offer %s: %w", k, ErrNotOutstanding)
		case e.claimed:
			return nil, fmt.Errorf("offer %s: %w", k, ErrClaimed)
		case slices.Contains(keys[:i], k):
			return nil, fmt.Errorf("offer %s named twice: %w", k, ErrClaimed)
		}
		out[i] = e.Offer
	}
	for _, k := range keys {
		l.offers[k].claimed = true
	}
	return out, nil
}

// Unclaim gives up claims; the offers stay outstanding.
func (l *Ledger) Unclaim(keys ...Key) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if e, ok := l.offers[k]; ok {
			e.claimed = false
		}
	}
}

// RemoveOffer removes an offer that is no longer outstanding (declined,
// rescinded, expired, deleted, or accepted by tasks that were not bound): its
// resources go back to the pool. It returns the offer, and false when it was
// not recorded.
func (l *Ledger) RemoveOffer(key Key) (Offer, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.offers[key]
	if !ok {
		return Offer{}, false
	}
	l.removeOffer(e)
	return e.Offer, true
}

func (l *Ledger) removeOffer(e *offerEntry) {
	delete(l.offers, e.Key)
	n := l.node(e.Node)
	delete(n.offers, e.Key)
	n.offered = n.offered.Sub(e.Resources)
	if !n.offered.Ports.IsEmpty() {
		n.offered.Ports = nil
		for k := range n.offers {
			n.offered.Ports = n.offered.Ports.Union(l.offers[k].Resources.Ports)
		}
	}
	if u := l.fws[e.Framework]; u != nil {
		u.Offered = u.Offered.Sub(scalars(e.Resources))
		u.Offers--
		l.pruneUsage(e.Framework, u)
	}
}

// Accept turns accepted offers into tasks: it removes the offers, whatever
// claims they carry, and records each task that is not recorded yet (nor known
// to be terminal) on its node. What the tasks do not use of the offers goes back to the pool. The
// caller has checked that the tasks fit in the offers; Accept reports an
// error wrapping ErrOvercommit when a node ends up over, but applies
// everything anyway, because the API already holds the accept.
func (l *Ledger) Accept(offers []Key, tasks []Task) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range offers {
		if e, ok := l.offers[k]; ok {
			l.removeOffer(e)
		}
	}
	var nodes []string
	for _, t := range tasks {
		if _, ok := l.tasks[t.Key]; ok {
			continue
		}
		if _, final := l.final[t.UID]; final && t.UID != "" {
			continue // it ended before it could be bound
		}
		l.addTask(t)
		if !slices.Contains(nodes, t.Node) {
			nodes = append(nodes, t.Node)
		}
	}
	for _, name := range nodes {
		if err := l.nodes[name].check(); err != nil {
			return err
		}
	}
	return nil
}
