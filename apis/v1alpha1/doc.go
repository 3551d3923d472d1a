// Package v1alpha1 holds Meseta's API types, group meseta.dev, version v1alpha1.
//
// The kinds are Node and Role (cluster-scoped) and Framework, Offer, Task, App and
// Job (namespaced). They are served as CustomResourceDefinitions generated from the
// markers in this package (`make manifests`, into config/crd/bases; the crd package
// embeds them). The CEL rules in the markers are the rules of each kind; the
// master runs a Task's in Go instead (package taskvalidation, crd.Served), as
// Tasks are written at launch rates. Every kind has a status subresource, printer columns, short names
// and the category "meseta", so `kubectl get meseta` lists them all.
//
// Short names: nodes mnode, roles mrole, frameworks fw, offers of, tasks tk,
// apps mapp, jobs mjob. Kinds whose plural collides with a Kubernetes resource
// (nodes, roles, jobs) get an "m" prefix so that the short name is unambiguous
// even where the Kubernetes resource is served too (roles.rbac.authorization.k8s.io
// always is); apps takes the same prefix to match jobs.
//
// Register the types with a scheme through AddToScheme:
//
//	scheme := runtime.NewScheme()
//	utilruntime.Must(v1alpha1.AddToScheme(scheme))
//
// +kubebuilder:object:generate=true
// +groupName=meseta.dev
package v1alpha1
