// Package simulate runs many simulated agents in one process: each registers
// its Node and renews its Lease exactly as a real agent does (package
// node), and reports the status of the Tasks bound to it as a real agent
// would (package tasks' NextStatus and finalizer), but runs no containers.
// It is Meseta's hollow node, for scale tests and benchmarks of the master.
//
// A Fleet shares what a real fleet's agents would not notice being shared:
// one client (with a rate limit sized for the fleet) and one watch of Nodes
// that the heartbeats read instead of getting their Node at every beat. Each
// node lists and watches the Tasks bound to it (field selector
// spec.nodeName=NODE) as its agent does, so the master serves as many task
// watches as a real fleet's, each handed its node's events only.
//
// With NodeIdentities (the default of `meseta agent --simulate`), what a node
// writes is written as its own agent: the fleet impersonates user
// meseta:node:<node> in group meseta:nodes for every request made for that
// node. The master's priority and fairness then queues a fleet's thousands of
// nodes as it would as many agents, each node a flow of its own, and its
// node-restriction policy checks every write. Without it, a fleet run under
// an admin's credentials is exempt from both, and nothing bounds how many of
// its requests the master holds at once.
//
// What a task does is read from its command (ParseCommand): "sleep 5"
// finishes after five seconds, "false" fails at once with exit code 1,
// `sh -c "exit 3"` fails with exit code 3, and a command the simulator does
// not understand (a server) runs until its task is deleted. A task climbs
// Staging, Starting and Running, one status write each, as on a real agent;
// deleting it kills it at once (as SIGTERM kills "sleep"), its final status
// is written, and then the finalizer is removed.
//
//	f, err := simulate.NewFleet(simulate.Config{REST: cfg, Nodes: simulate.NodeNames("sim", 1000),
//		Resources: allocatable})
//	if err != nil {
//		return err
//	}
//	return f.Run(ctx) // registers every node, then runs until ctx ends
package simulate
