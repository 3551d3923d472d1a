// Package e2e holds Meseta's end-to-end tests: they start the real binaries from
// bin/ (`make build`), drive them with the real kubectl on PATH and mesetactl, and
// run real runc containers. Run them with `make test-integration` (they need root).
//
// MESETA_BIN points at the directory with meseta, mesetactl and runc; by default
// it is ../bin relative to this package.
package e2e
