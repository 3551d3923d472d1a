// Package faults holds Meseta's fault tests: they start real processes (one or
// three masters on embedded etcd, several agents running real runc containers,
// each agent optionally in its own network namespace, and a workload: a
// framework process written with the SDK, or an App of the built-in apps
// framework), break them (SIGKILL, a network partition, a drain, a lost
// framework, a lost etcd quorum), and prove that the invariants of
// ARCHITECTURE.md held throughout.
//
// Every test records the full history of Task, Offer and Node objects by
// watching them (each event kept with its resourceVersion), samples the
// containers each agent's runtime runs, and hands both to the checker of
// package history after the scenario. Measured figures are logged as lines
// of the form
//
//	FIGURE scenario=agent-killed name=time-to-unreachable value=4.12s
//
// so that `go test -v ./e2e/faults/ | grep FIGURE` gives a table.
//
// The tests need root (network namespaces, runc) and the binaries of `make
// build`; MESETA_BIN points at them (default ../../bin). `make test` runs the
// fast scenarios; `make test-e2e-long` runs the soak variants as well
// (MESETA_FAULTS_SOAK=1). The bad-input suite lives here too (badinput_test.go).
//
// The test binary doubles as the framework process: started with
// MESETA_FAULTS_KEEPER set, it runs the "keeper" framework (keeper_test.go)
// instead of the tests.
package faults
