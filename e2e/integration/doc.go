// Package integration tests the master in-process: a real embedded etcd and the
// real API server on a temp dir and free ports (package mastertest), driven by
// controller-runtime clients. Controllers' integration tests live here too, so the
// heavy API server libraries are linked into one test binary.
package integration
