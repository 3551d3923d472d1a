// Package ledger is the master's book of committed resources: for every node
// what it may allocate, what the bound tasks that have not reached a terminal
// state hold, and what the outstanding offers hold; for every framework what it
// has allocated and what it is offered. It is the only place the allocator
// takes free resources from, so it never does free-resource arithmetic on a
// stale informer cache.
//
// The ledger is pure (no API calls, no clock) and safe for concurrent use.
// The offer controller rebuilds it from a direct LIST of the API when it wins
// the leader election (Reset), and then changes it synchronously with each
// write it makes:
//
//	l := ledger.New()
//	l.Reset(offersFromList, tasksFromList)          // on election
//	l.SetAllocatable("node-a", allocatable)          // from Node events
//	if err := l.AddOffer(o); err != nil { ... }      // before creating the Offer
//	claimed, err := l.Claim(o.Key)                   // before accepting or closing it
//	l.Accept([]ledger.Key{o.Key}, tasks)             // after the Offer turned Accepted
//	l.RemoveOffer(o.Key)                             // after it was declined, rescinded or expired
//	l.RemoveTask(t.Key, t.UID, true)                 // when a task reached a terminal state
//	offers, tasks := l.Holders("node-a")             // what holds resources on a node
//
// Invariant: no node is committed past its allocatable resources. AddOffer and
// AdmitTask refuse what would break it (ErrOvercommit); Accept only moves
// resources from offers to tasks that fit in them. Resources that the API says
// are committed (Reset, ObserveTask) are recorded even when they break it, and
// Check reports every node that is over.
//
// Claims settle races inside the process: an operation that wants to accept,
// decline, rescind or expire an outstanding offer claims it first, and only one
// claim on an offer can be held at a time. Races with other writers (a
// framework declining or deleting its offer) are settled by the API's
// optimistic concurrency on the Offer.
package ledger
