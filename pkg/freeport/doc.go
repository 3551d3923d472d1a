// Package freeport hands out TCP ports that are free right now, for tests
// that start servers (masters, etcd members, agents) on real ports.
//
// A port is taken from below the kernel's range of ephemeral ports (Linux's
// net.ipv4.ip_local_port_range), the ports it gives the outgoing connections
// of every process: a port of that range that was free when handed out may be
// the local end of some client's connection by the time its server binds it,
// as when the masters of a test start one after the other, the first ones
// already talking to each other while the last one's ports wait. A port is
// handed out at most once per process, so that two servers of one test never
// fight over one.
package freeport
