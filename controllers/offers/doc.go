// Package offers is the offer controller: the leader-elected loop that turns
// the cluster's free resources into Offer objects, and closes them again.
//
// On election it rebuilds its ledger (package ledger) from a LIST of every
// Offer and Task, read from the API server rather than the informer cache;
// after that it changes the ledger synchronously with every write it makes,
// and with the binding controllers (package binding), which share the ledger,
// it is the only writer of Offers and of task bindings.
//
// Every --allocation-interval, and soon after each event that may change what
// is offered (a node, framework or role changed; a task ended; an offer was
// declined, accepted or deleted), a cycle runs:
//  1. revive: frameworks whose spec.revive changed lose their decline filters;
//  2. close: outstanding offers are Declined (spec.decline set), Expired
//     (past spec.expiresAt) or Rescinded (node removed, not ready, cordoned,
//     draining, in maintenance or over-committed; framework removed, inactive,
//     suppressed or torn down), each claimed in the ledger first and written
//     under a resourceVersion precondition;
//  3. allocate: the pure allocator (package allocator) plans offers from a
//     snapshot of the ledger and of the nodes, frameworks and roles;
//  4. offer: each planned offer is recorded in the ledger, then created, in
//     parallel, named "<framework>-<node>-<sequence>" in the framework's
//     namespace, with spec.expiresAt when --offer-timeout is set.
//
// Beside the loop, a status writer applies (server-side, field manager
// meseta-allocator) the status fields the controller owns at a bounded rate:
// allocated and offered of Nodes; allocated, offered, dominantShare,
// observedRevive and the OffersAvailable condition of Frameworks, which says
// why nothing is offered; allocated, offered, dominantShare and the
// LimitReached and GuaranteeMet conditions of Roles (package rolestatus owns
// status.frameworks). A collector audits the ledger against the API and
// deletes offers closed for longer than a minute, paced: at least 100 a
// second, and a larger backlog within another minute, spread over each
// collection, oldest first (so that the thousands of offers rescinded when
// frameworks suppress after a burst do not come back as one burst of
// deletes).
//
// A framework declines an offer by setting spec.decline (refuseSeconds,
// default 5) or by deleting it: the node is then filtered for the framework
// for that long. Filters are soft state and a new leader starts without any.
//
// Usage, in the master:
//
//	cfg.Controllers = []master.ControllerSetup{offers.Setup}
package offers
