package offers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/allocator"
	"meseta.dev/meseta/pkg/ledger"
	"meseta.dev/meseta/pkg/resources"
)

// Framework condition written by the offer controller.
const (
	// OffersAvailableCondition is True while the framework holds outstanding
	// offers or was offered something in the latest allocation cycle; when False
	// its reason and message say why nothing is offered to it.
	OffersAvailableCondition = "OffersAvailable"

	// OfferedReason says the framework holds offers.
	OfferedReason = "Offered"
	// NoNodesReason says there is no node at all.
	NoNodesReason = "NoNodes"
	// NotAllocatedReason says no allocation cycle has considered the framework
	// yet.
	NotAllocatedReason = "NotAllocatedYet"
)

type frameworkStatusApply struct {
	applyHead
	Status struct {
		Allocated      v1alpha1.Resources `json:"allocated"`
		Offered        v1alpha1.Resources `json:"offered"`
		DominantShare  string             `json:"dominantShare"`
		ObservedRevive int64              `json:"observedRevive,omitempty"`
		Conditions     []metav1.Condition `json:"conditions"`
	} `json:"status"`
}

func (w *statusWriter) frameworks(ctx context.Context, now time.Time, urgents map[types.NamespacedName]struct{}, urgentOnly bool) []statusApply {
	var fws v1alpha1.FrameworkList
	if err := w.c.cache.List(ctx, &fws, client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	pr := w.c.lastPlan.Load()
	shares := map[types.NamespacedName]float64{}
	if pr != nil {
		for _, r := range pr.plan.Frameworks {
			shares[r.Framework] = r.Share
		}
	}
	var out []statusApply
	for i := range fws.Items {
		f := &fws.Items[i]
		key := client.ObjectKeyFromObject(f)
		_, urgent := urgents[key]
		if urgentOnly && !urgent {
			continue
		}
		info := frameworkInfoOf(f)
		u := w.c.ledger.Framework(key)
		a := frameworkStatusApply{applyHead: head("Framework", f.Namespace, f.Name)}
		a.Status.Allocated, a.Status.Offered = statusResources(u.Allocated), statusResources(u.Offered)
		a.Status.DominantShare = formatShare(shares[key])
		a.Status.ObservedRevive = w.c.observedRevive(key, &info)
		cond := offersCondition(pr, key, u)
		cond.ObservedGeneration = f.Generation
		cond.LastTransitionTime = metav1.NewTime(now)
		if old := meta.FindStatusCondition(f.Status.Conditions, OffersAvailableCondition); old != nil && old.Status == cond.Status {
			cond.LastTransitionTime = old.LastTransitionTime
		}
		a.Status.Conditions = []metav1.Condition{cond}
		if !urgent && frameworkStatusIs(f, &a) {
			continue
		}
		body, _ := json.Marshal(a)
		obj := &v1alpha1.Framework{}
		obj.Name, obj.Namespace = f.Name, f.Namespace
		out = append(out, statusApply{key: "framework/" + key.String(), obj: obj, body: body, urgent: urgent})
	}
	return out
}

// frameworkStatusIs reports whether a Framework's status already holds what
// a would write.
func frameworkStatusIs(f *v1alpha1.Framework, a *frameworkStatusApply) bool {
	s := &f.Status
	if s.DominantShare != a.Status.DominantShare || s.ObservedRevive != a.Status.ObservedRevive {
		return false
	}
	if !sameAPIResources(s.Allocated, a.Status.Allocated) || !sameAPIResources(s.Offered, a.Status.Offered) {
		return false
	}
	return sameCondition(s.Conditions, a.Status.Conditions[0])
}

func sameCondition(have []metav1.Condition, want metav1.Condition) bool {
	old := meta.FindStatusCondition(have, want.Type)
	return old != nil && old.Status == want.Status && old.Reason == want.Reason &&
		old.Message == want.Message && old.ObservedGeneration == want.ObservedGeneration
}

// offersCondition says whether a framework holds or gets offers, and if not,
// why, from the latest allocation cycle's explanation.
func offersCondition(pr *planResult, key types.NamespacedName, u ledger.Usage) metav1.Condition {
	c := metav1.Condition{Type: OffersAvailableCondition}
	offered := 0
	if pr != nil {
		offered = pr.offered[key]
	}
	if u.Offers > 0 || offered > 0 {
		c.Status, c.Reason = metav1.ConditionTrue, OfferedReason
		c.Message = fmt.Sprintf("%d %s outstanding", max(u.Offers, offered), plural(max(u.Offers, offered), "offer", "offers"))
		return c
	}
	c.Status = metav1.ConditionFalse
	var e allocator.Explanation
	ok := false
	if pr != nil {
		e, ok = pr.plan.Explain(key)
	}
	switch {
	case !ok:
		c.Reason, c.Message = NotAllocatedReason, "no allocation cycle has considered the framework yet"
	case e.Nodes == 0:
		c.Reason, c.Message = NoNodesReason, "no offers: the cluster has no nodes"
	default:
		c.Reason, c.Message = OfferedReason, e.Summary()
		if len(e.Skips) > 0 {
			c.Reason = e.Skips[0].Reason.String()
		}
	}
	return c
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// sameAPIResources reports whether two API resources hold the same amounts.
func sameAPIResources(a, b v1alpha1.Resources) bool {
	v, err := resources.FromAPI(b)
	return err == nil && sameResources(a, v)
}
