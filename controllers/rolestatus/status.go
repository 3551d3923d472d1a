package rolestatus

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Status is the part of a Role's status the controller owns.
type Status struct {
	Frameworks int32
	// Conditions holds the ParentExists condition.
	Conditions []metav1.Condition
}

// ParentCondition returns the ParentExists condition of role name, given
// whether the Role object of its parent exists.
func ParentCondition(name string, parentExists bool) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.RoleParentExistsCondition, Status: metav1.ConditionTrue}
	parent, nested := v1alpha1.ParentRole(name)
	switch {
	case !nested:
		c.Reason, c.Message = v1alpha1.RoleTopLevelReason, "The role is a top-level role"
	case parentExists:
		c.Reason, c.Message = v1alpha1.RoleParentFoundReason, fmt.Sprintf("Parent role %s exists", parent)
	default:
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.RoleParentMissingReason
		c.Message = fmt.Sprintf("No Role %s: the parent has weight 1, no limit and no guarantee", parent)
	}
	return c
}

// DesiredStatus returns the role's status given how many frameworks use it
// and whether its parent exists, keeping the transition time of a condition
// whose status does not change.
func DesiredStatus(role *v1alpha1.Role, frameworks int, parentExists bool, now time.Time) Status {
	c := ParentCondition(role.Name, parentExists)
	c.ObservedGeneration = role.Generation
	c.LastTransitionTime = metav1.NewTime(now)
	if old := meta.FindStatusCondition(role.Status.Conditions, c.Type); old != nil && old.Status == c.Status {
		c.LastTransitionTime = old.LastTransitionTime
	}
	return Status{Frameworks: int32(frameworks), Conditions: []metav1.Condition{c}}
}

// CountFrameworks counts the frameworks whose effective role is role.
func CountFrameworks(fws []v1alpha1.Framework, role string) int {
	n := 0
	for i := range fws {
		if fws[i].EffectiveRole() == role {
			n++
		}
	}
	return n
}
