package offers

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/allocator"
	"meseta.dev/meseta/pkg/resources"
)

type roleStatusApply struct {
	applyHead
	Status struct {
		Allocated     v1alpha1.Resources `json:"allocated"`
		Offered       v1alpha1.Resources `json:"offered"`
		DominantShare string             `json:"dominantShare"`
		Conditions    []metav1.Condition `json:"conditions"`
	} `json:"status"`
}

// inRole reports whether role is name or one of its descendants.
func inRole(role, name string) bool {
	return role == name || strings.HasPrefix(role, name+".")
}

func (w *statusWriter) roles(ctx context.Context, now time.Time) []statusApply {
	var roles v1alpha1.RoleList
	if err := w.c.cache.List(ctx, &roles, client.UnsafeDisableDeepCopy); err != nil || len(roles.Items) == 0 {
		return nil
	}
	results := map[string]allocator.RoleResult{}
	if pr := w.c.lastPlan.Load(); pr != nil {
		for _, r := range pr.plan.Roles {
			results[r.Name] = r
		}
	}
	usage := w.c.ledger.Frameworks()
	fwRoles := map[string]string{}
	w.c.world.mu.RLock()
	for key, f := range w.c.world.frameworks {
		fwRoles[key.String()] = f.Role
	}
	w.c.world.mu.RUnlock()
	var out []statusApply
	for i := range roles.Items {
		r := &roles.Items[i]
		var alloc, offered resources.Vector
		for key, u := range usage {
			if inRole(fwRoles[key.String()], r.Name) {
				alloc, offered = alloc.Add(u.Allocated), offered.Add(u.Offered)
			}
		}
		res := results[r.Name]
		a := roleStatusApply{applyHead: head("Role", "", r.Name)}
		a.Status.Allocated, a.Status.Offered = statusResources(alloc), statusResources(offered)
		a.Status.DominantShare = formatShare(res.Share)
		a.Status.Conditions = roleConditions(r, res, now)
		if roleStatusIs(r, &a) {
			continue
		}
		body, _ := json.Marshal(a)
		obj := &v1alpha1.Role{}
		obj.Name = r.Name
		out = append(out, statusApply{key: "role/" + r.Name, obj: obj, body: body})
	}
	return out
}

// roleConditions returns a role's LimitReached and GuaranteeMet conditions
// after the latest cycle, keeping the transition times of unchanged ones.
func roleConditions(r *v1alpha1.Role, res allocator.RoleResult, now time.Time) []metav1.Condition {
	limit := metav1.Condition{Type: v1alpha1.RoleLimitReachedCondition, Status: metav1.ConditionFalse,
		Reason: v1alpha1.RoleUnderLimitReason, Message: "the role is below its limit in every resource"}
	if r.Spec.Limit == nil {
		limit.Message = "the role has no limit"
	}
	if res.LimitReached {
		limit.Status, limit.Reason = metav1.ConditionTrue, v1alpha1.RoleAtLimitReason
		limit.Message = "the role's limit leaves less than the smallest offer of some resource"
	}
	guarantee := metav1.Condition{Type: v1alpha1.RoleGuaranteeMetCondition, Status: metav1.ConditionTrue,
		Reason: v1alpha1.RoleGuaranteeSatisfiedReason, Message: "the role holds its guarantee, or has none"}
	if !res.GuaranteeMet && r.Spec.Guarantee != nil {
		guarantee.Status, guarantee.Reason = metav1.ConditionFalse, v1alpha1.RoleBelowGuaranteeReason
		guarantee.Message = "the role holds less than its guarantee and is offered resources first"
	}
	out := []metav1.Condition{limit, guarantee}
	for i := range out {
		out[i].ObservedGeneration = r.Generation
		out[i].LastTransitionTime = metav1.NewTime(now)
		if old := meta.FindStatusCondition(r.Status.Conditions, out[i].Type); old != nil && old.Status == out[i].Status {
			out[i].LastTransitionTime = old.LastTransitionTime
		}
	}
	return out
}

func roleStatusIs(r *v1alpha1.Role, a *roleStatusApply) bool {
	s := &r.Status
	if s.DominantShare != a.Status.DominantShare {
		return false
	}
	if !sameAPIResources(s.Allocated, a.Status.Allocated) || !sameAPIResources(s.Offered, a.Status.Offered) {
		return false
	}
	for _, c := range a.Status.Conditions {
		if !sameCondition(s.Conditions, c) {
			return false
		}
	}
	return true
}
