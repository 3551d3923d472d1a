// Package kubecontrollers runs, inside the master, the upstream Kubernetes
// controllers that make the generic API behave as users expect: the garbage
// collector (owner references cascade), the namespace controller (deleting a
// namespace deletes its contents), the service account controller (every namespace
// gets a "default" service account) and the cluster role aggregation controller
// (the aggregated admin/edit/view roles).
//
// They run only on the elected leader, like every other Meseta controller.
package kubecontrollers
