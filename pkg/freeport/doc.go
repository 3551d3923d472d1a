// Package freeport hands out TCP ports that are free right now, for tests
// that start servers (masters, etcd members, agents) on real ports. A port
// is handed out at most once per process: the kernel may give the same
// ephemeral port to two listeners opened and closed one after the other, and
// two servers of one test would then fight over it.
package freeport
