// Package certauth authenticates a request by its client certificate as the
// API server's own x509 authenticator does (the certificate's common name is
// the user, its organizations the groups), but verifies each certificate
// chain once rather than at every request.
//
// The API server asks for a client certificate in the TLS handshake without
// verifying it there (its authorities may change while connections stay
// open), and its authenticator then verifies the chain, a signature check
// per certificate, at every request: 3% of the master's CPU in a launch,
// where every agent and framework request on a connection presents the same
// certificate. Remembered keeps what it verified, by the chain's bytes, for
// at most a minute, never past the expiry of a certificate of the chain, and
// only while the authority's bundle is the one it was verified against: a
// rotated authority verifies every certificate again. A chain that fails
// verification is never remembered.
//
//	authn = certauth.InFront(clientCA, authn) // before the server's own chain
package certauth
