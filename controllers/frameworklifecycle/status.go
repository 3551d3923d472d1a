package frameworklifecycle

import (
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

// ActiveCondition returns the Active condition of a framework whose Lease is
// in state s.
func ActiveCondition(s LeaseState, namespace, name string) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.FrameworkActiveCondition, Message: s.describe(namespace, name)}
	switch {
	case s.Missing:
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.FrameworkLeaseMissingReason
	case !s.Fresh:
		c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.FrameworkLeaseExpiredReason
	default:
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.FrameworkLeaseHeldReason
	}
	return c
}

// InactiveSince returns since when a framework with Lease state s has been
// inactive: the expiry of an expired Lease; for a missing Lease, the
// transition time of an Active condition that is already False, now when it
// was True, and the framework's creation when there is none yet. It is zero
// for an active framework.
func InactiveSince(s LeaseState, active *metav1.Condition, created, now time.Time) time.Time {
	switch {
	case s.Fresh:
		return time.Time{}
	case !s.Missing:
		return s.Expiry
	case active == nil:
		return created
	case active.Status == metav1.ConditionFalse:
		return active.LastTransitionTime.Time
	}
	return now
}

// TearDownAt returns when a framework inactive since inactiveSince is torn
// down: failoverTimeout after that, but never before a full lease duration
// after the controller started watching (since), as no framework could renew
// its Lease while the master was down.
func TearDownAt(inactiveSince, since time.Time, leaseDuration, failoverTimeout time.Duration) time.Time {
	from := inactiveSince
	if earliest := since.Add(leaseDuration); earliest.After(from) {
		from = earliest
	}
	return from.Add(failoverTimeout)
}

// TornDownCondition returns the TornDown condition: True once torn down (the
// current condition is kept as it is, since a teardown is final), False with
// the time it is due while the framework is inactive, False while it is
// active.
func TornDownCondition(cur *metav1.Condition, tornDown, active bool, inactiveSince, due time.Time, failover time.Duration) metav1.Condition {
	if cur != nil && cur.Status == metav1.ConditionTrue {
		return *cur
	}
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	c := metav1.Condition{Type: v1alpha1.FrameworkTornDownCondition, Status: metav1.ConditionFalse}
	switch {
	case tornDown:
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.FrameworkFailoverTimeoutExpiredReason
		c.Message = fmt.Sprintf("Inactive since %s for longer than its failoverTimeout of %s: its offers were rescinded and its tasks killed", stamp(inactiveSince), failover)
	case active:
		c.Reason, c.Message = v1alpha1.FrameworkLeaseHeldReason, "The framework is active"
	default:
		c.Reason = v1alpha1.FrameworkFailoverPendingReason
		c.Message = fmt.Sprintf("Inactive since %s; torn down at %s unless its Lease is renewed", stamp(inactiveSince), stamp(due))
	}
	return c
}

// Phase derives a framework's phase: TornDown, then Inactive, then
// Suppressed (spec.suppressed), then Active.
func Phase(tornDown, active, suppressed bool) v1alpha1.FrameworkPhase {
	switch {
	case tornDown:
		return v1alpha1.FrameworkTornDown
	case !active:
		return v1alpha1.FrameworkInactive
	case suppressed:
		return v1alpha1.FrameworkSuppressed
	}
	return v1alpha1.FrameworkActive
}

// setCondition returns conds with c set: when c's status differs from the
// current one, its lastTransitionTime becomes at; otherwise the current one is
// kept. conds is not modified.
func setCondition(conds []metav1.Condition, c metav1.Condition, at time.Time) []metav1.Condition {
	out := slices.Clone(conds)
	c.LastTransitionTime = metav1.NewTime(at)
	meta.SetStatusCondition(&out, c)
	return out
}
