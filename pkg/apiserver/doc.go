// Package apiserver runs Meseta's API server: Kubernetes' generic control plane
// (the library behind KEP-4080) with its CRD, native and aggregation layers, so the
// cluster serves namespaces, RBAC, service accounts and their tokens, Leases,
// Events, admission webhooks and policies, API priority and fairness, discovery and
// OpenAPI. Meseta's own kinds are CRDs, installed by the master after start.
// Client certificates are verified once per chain for a while (package
// certauth) rather than at every request.
//
// Start blocks until /readyz answers, so callers can use the server at once:
//
//	srv, err := apiserver.Start(ctx, apiserver.Config{...})
//	<-srv.Done()
package apiserver
