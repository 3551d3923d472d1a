// Package bootstrap gives an agent its node identity, as kubelet TLS bootstrap
// does: with a bootstrap token (from `meseta token create`) the agent asks the
// certificates.k8s.io API for a client certificate for user meseta:node:<name>
// in group meseta:nodes; the master approves and signs it; the key and
// certificate are kept in a directory and reused on the next start, and renewed
// (with the node's own identity while it is still valid) when little of their
// lifetime is left.
//
//	bootstrapConfig := &rest.Config{Host: server, BearerToken: token,
//		TLSClientConfig: rest.TLSClientConfig{CAFile: caFile}}
//	nodeConfig, err := bootstrap.Bootstrap(ctx, bootstrapConfig, "node-a", "/var/lib/meseta/agent/pki")
//	if err != nil {
//		return err
//	}
//	// use nodeConfig for every request of the agent
//
// The private key never leaves the directory (mode 0600); only the certificate
// request travels. The returned configuration names the files, so clients pick
// up a renewed certificate.
package bootstrap
