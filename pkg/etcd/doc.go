// Package etcd runs the master's embedded etcd member.
//
// The member starts first, with its own lifecycle context, and Start blocks until it
// serves clients or a timeout passes; a partial start is cleaned up before Start
// returns an error. Client and peer traffic use TLS with certificates from the
// master's authority (see package pki). The client port serves gRPC alone, on
// gRPC's own server; the member's HTTP endpoints (health, version) have a port
// of their own, for muxed on the client port gRPC would run through the HTTP
// server's handler, which is slow under load. Ports are chosen once and
// remembered in the data directory, so a restarted master finds its member
// where it left it.
//
//	srv, err := etcd.Start(ctx, etcd.Config{DataDir: dir, ...})
//	defer srv.Close()
//	endpoints := srv.ClientURLs()
package etcd
