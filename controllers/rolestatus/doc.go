// Package rolestatus keeps the parts of a Role's status that follow from
// other objects, not from allocation: status.frameworks, the number of
// Frameworks whose effective role (spec.role, else their namespace) is the
// role, and the ParentExists condition, False when a nested role
// ("eng.frontend") has no Role object for its parent ("eng"). The offer
// controller owns allocated, offered, dominantShare and the LimitReached and
// GuaranteeMet conditions; both write with server-side apply under their own
// field managers.
//
//	err := rolestatus.Setup(mgr, rolestatus.Options{})
package rolestatus
