// Package security holds Meseta's identities and authorization machinery, all of
// it Kubernetes' own: RBAC roles, ValidatingAdmissionPolicies, API priority and
// fairness, bootstrap tokens, and client certificates issued through the
// certificates.k8s.io API.
//
// The master calls Install from its bootstrap post-start hook, so every start
// applies the manifests embedded in meseta.dev/meseta/config/rbac and
// meseta.dev/meseta/config/policy (server-side apply, field manager
// "meseta-master"), then WaitForAdmissionPolicies, so that /readyz waits
// until the admission policies are enforced, not only written:
//
//	if err := security.Install(ctx, loopback); err != nil {
//		return err
//	}
//	return security.WaitForAdmissionPolicies(ctx, loopback, "meseta-system", time.Minute)
//
// Identities:
//   - agents are users meseta:node:<node> in group meseta:nodes (NodeUser). An
//     agent starts with a bootstrap token (CreateBootstrapToken, `meseta token
//     create`) and trades it for a client certificate (see
//     meseta.dev/meseta/pkg/agent/bootstrap and the approver in
//     meseta.dev/meseta/pkg/security/certificates);
//   - frameworks are service accounts of their namespace bound to meseta:framework;
//   - people hold client certificates minted by `mesetactl create kubeconfig`.
package security
