package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ResetManagedFields returns the metadata.managedFields value that makes the
// API server drop an object's managedFields: a list of one empty entry. An
// object without managedFields is not tracked again by updates and patches,
// only by a server-side apply.
//
// Meseta writes it where field ownership no longer serves anyone and costs on
// every write: the master when it binds a Task (one a server-side apply
// created still has them; a bound task's spec does not change and its status
// is written three times or more), an agent when it adds
// its finalizer to a task placed directly on its node, and an agent to its
// node's Lease (renewed every few seconds).
func ResetManagedFields() []metav1.ManagedFieldsEntry {
	return []metav1.ManagedFieldsEntry{{}}
}
