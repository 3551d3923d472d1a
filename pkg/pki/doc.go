// Package pki creates and loads the master's certificate authority and the
// certificates signed by it: the API server's serving certificate, client
// certificates for the admin and for internal components, and the key that signs
// service account tokens.
//
// Everything lives in one directory (normally <data-dir>/pki). Files are created on
// first start and reused afterwards, so clients keep trusting a restarted master.
//
//	authority, err := pki.LoadOrCreateCA(dir)
//	serving, err := authority.LoadOrCreateServing(dir, "apiserver", hosts)
//	admin, err := authority.LoadOrCreateClient(dir, "admin", "meseta:admin", "system:masters")
package pki
