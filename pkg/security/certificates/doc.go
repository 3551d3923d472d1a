// Package certificates issues client certificates through Kubernetes'
// certificates.k8s.io API, inside the master and only on its elected leader:
//
//   - the upstream signer for kubernetes.io/kube-apiserver-client signs approved
//     requests with the cluster CA (<data-dir>/pki/ca.crt and ca.key); the API
//     server's CertificateSubjectRestriction admission refuses requests for
//     system:masters, so no CSR ever yields an admin certificate;
//   - Meseta's node approver approves, without a human, exactly the requests an
//     agent makes: subject meseta:node:<name> in organization meseta:nodes, client
//     auth only, no SANs, from a bootstrap token allowed to create
//     certificatesigningrequests/mesetanodeclient (RBAC: meseta:node-bootstrapper),
//     or from that very node renewing (certificatesigningrequests/selfmesetanodeclient).
//     A token pinned to one node (meseta token create --node) gets that node's
//     identity or a Denied request. Every other request waits for an admin
//     (mesetactl create kubeconfig approves its own);
//   - the upstream cleaners remove old requests and expired bootstrap tokens.
//
// Start it as a leader-elected runnable:
//
//	err := certificates.Run(ctx, loopback, certificates.Config{CAFile: ca, CAKeyFile: key})
package certificates
