// Command bench runs Meseta's named benchmark scenarios against a real master
// (the meseta binary, with its embedded etcd, started in a temporary data
// dir) and prints one table, also written as JSON: the machine's cores, the
// scenario, its parameters, the figure, its unit, the target and whether it
// was met.
//
// Every master runs with --memory-limit 3584Mi (-memory-limit; empty for the
// master's default, none on a machine without a cgroup limit), as a master
// in production runs under its cgroup's limit: the limit caps its resident
// size (the embedded etcd's mapped database included), and the collector's
// growth target that goes with it (GOGC 300) lowers its CPU per write. The table's last line says so.
//
//	go run ./hack/bench                        # every scenario, full size
//	go run ./hack/bench -short                 # every scenario, small sizes
//	BENCH=allocator-core,launch-throughput go run ./hack/bench -out bin/bench.json
//
// Scenarios:
//   - allocator-core: the pure allocation cycle (pkg/allocator) over 1k and
//     10k nodes x 10, 100 and 1000 frameworks, ms per cycle;
//   - offers-e2e: offers made and accepted per second end to end, with
//     simulated nodes (pkg/agent/simulate) and frameworks written with pkg/sdk
//     that accept every offer;
//   - launch-throughput: 10,000 tasks onto 1,000 simulated nodes through the
//     built-in jobs framework and through a raw SDK framework (sdk.Queue),
//     tasks per second placed (bound) and Running; at the short size, the
//     Job's apply-to-all-Running time;
//   - api: 5,000 simulated nodes and 50,000 running tasks; p50 and p99 of the
//     mutating and read calls (the simulated agents' own, each as its node's
//     agent; the frameworks', each as its service account; and a prober's,
//     as an ordinary user: nobody exempt from the master's priority and
//     fairness) made during the launch and, apart, in a steady minute once
//     all run, the master's queues are empty and no offer is outstanding
//     (every framework suppressed them; at most 3 minutes; the one held to
//     the target), each p99 with every source's figure, the mutating p99 by
//     the master's own measure (apiserver_request_duration_seconds, from the
//     moment a call reaches it: the measure the Kubernetes SLO is stated on,
//     with its worst resource and verb), the CPU the master and the nodes
//     and frameworks used in that minute, the master's collector's share and
//     the heap it found live, and the embedded etcd's slow applies,
//     compactions, commits and fsyncs (those over 128 ms apart) in it; the
//     master's RSS at the end (its anonymous and file pages apart: the
//     limit counts etcd's mapped database too) and its peak (the kernel's
//     high-water mark), and the etcd database size at the end. Its parameters say the
//     masters' --memory-limit;
//   - launch-latency-real: create-to-Running p50 and p99 of real runc
//     containers on one real agent, beside `runc run -d` of the same image in
//     the same run, then the agent's launches per second for 60 tasks at once
//     and the time from creating an App of 20 instances to all Running
//     (needs root, bin/runc and bin/images from `make images`);
//   - write-ceiling: the most writes per second one master takes of Task
//     status patches (JSON, a CRD with a schema, its rules run in Go) and of Lease
//     updates (protobuf), and its CPU per write: the ceiling every launch
//     figure lives under.
//
// Each launch also reports what it cost the master: its mutating API calls
// per task, the embedded etcd's WAL fsyncs and the CPU the master and this
// process spent per task, the watchers the master's watch cache closed for
// falling behind (each comes back and has every event since replayed to it,
// copied and encoded for it alone; the row's note counts the events of the
// cache's history new and returning watches went through, those they did
// not select included), and how many tasks were dropped (their
// framework launched them again), by reason. -timeline adds, per launch, the
// calls by resource and verb, the watches opened, closed and replayed by
// resource, a per-second count of tasks created, bound and Running,
// and a few dropped tasks' messages; -profiles
// DIR writes the master's CPU profile of the first 30s of each launch there
// (go tool pprof -top FILE), and, for the api scenario, of the first 30s of
// its steady minute and its heap profile at the end.
//
// Each simulated node lists and watches its own tasks as its agent (field
// selector spec.nodeName=NODE), as a real agent does: the master serves as
// many watches as a real fleet's.
//
// The simulated nodes and frameworks run in this process; the master runs in
// its own, so its RSS is its own. Latencies are measured by the clients, per
// request, after client-side rate limiting.
package main
