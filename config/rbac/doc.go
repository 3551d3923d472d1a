// Package rbac embeds Meseta's RBAC manifests: the ClusterRoles meseta:viewer,
// meseta:operator, meseta:admin, meseta:framework, meseta:node and the roles and
// bindings the agents' identities need. The master applies them at every start
// (see meseta.dev/meseta/pkg/security), so editing a YAML file here and restarting
// the master updates a running cluster:
//
//	for _, file := range rbac.Files() {
//		data, _ := rbac.FS.ReadFile(file)
//		// decode and apply data
//	}
//
// The files are plain Kubernetes objects; `kubectl apply -f config/rbac/` gives
// the same result on any cluster that serves the meseta.dev CRDs.
package rbac
