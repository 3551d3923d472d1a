package frameworklifecycle

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Input is what the controller knows of one framework.
type Input struct {
	// Framework is the Framework.
	Framework *v1alpha1.Framework
	// Lease is its Lease, nil when missing.
	Lease *coordinationv1.Lease
	// Tasks are its tasks (spec.framework is its name, in its namespace), in
	// any state; read only (the controller passes the cache's own).
	Tasks []*v1alpha1.Task
	// Now is the time of the decision; Since is when the controller started
	// watching (see TearDownAt).
	Now, Since time.Time
}

// Status is the part of a Framework's status the controller owns.
type Status struct {
	ObservedGeneration int64
	Phase              v1alpha1.FrameworkPhase
	Role               string
	Tasks              int32
	// Conditions are the Active and TornDown conditions.
	Conditions []metav1.Condition
}

// TaskRef names one task object.
type TaskRef struct {
	Key types.NamespacedName
	UID types.UID
}

// Decision is what the controller does to one framework and its tasks.
type Decision struct {
	// Lease is the state of the framework's Lease.
	Lease LeaseState
	// Active and TornDown summarize the framework.
	Active, TornDown bool
	// Status is the status to write.
	Status Status
	// AddFinalizer adds the meseta.dev/framework finalizer.
	AddFinalizer bool
	// Delete are the tasks to delete: the non-terminal ones of a torn-down
	// framework, all of a deleted one.
	Delete []TaskRef
	// RemoveFinalizer removes the finalizer of a deleted framework whose tasks
	// are all gone.
	RemoveFinalizer bool
	// RequeueAfter is when to look at the framework again if nothing happens,
	// zero for never.
	RequeueAfter time.Duration
}

// Decide returns what becomes of a framework and its tasks at in.Now.
func Decide(in Input) Decision {
	fw := in.Framework
	deleting := !fw.DeletionTimestamp.IsZero()
	d := Decision{Lease: AssessLease(in.Lease, in.Now)}
	d.Active = d.Lease.Fresh
	conds := fw.Status.Conditions
	curActive := meta.FindStatusCondition(conds, v1alpha1.FrameworkActiveCondition)
	curTornDown := meta.FindStatusCondition(conds, v1alpha1.FrameworkTornDownCondition)

	failover := DefaultFailoverTimeout
	if fw.Spec.FailoverTimeout != nil {
		failover = fw.Spec.FailoverTimeout.Duration
	}
	inactiveSince := InactiveSince(d.Lease, curActive, fw.CreationTimestamp.Time, in.Now)
	var due time.Time
	if !d.Active {
		due = TearDownAt(inactiveSince, in.Since, d.Lease.Duration, failover)
	}
	d.TornDown = (curTornDown != nil && curTornDown.Status == metav1.ConditionTrue) || (!d.Active && !in.Now.Before(due))

	// A change of Active dates from when the framework became what it is.
	active, changedAt := ActiveCondition(d.Lease, fw.Namespace, fw.Name), in.Now
	if !d.Active {
		changedAt = inactiveSince
	}
	active.ObservedGeneration = fw.Generation
	conds = setCondition(conds, active, changedAt)
	tornDown := TornDownCondition(curTornDown, d.TornDown, d.Active, inactiveSince, due, failover)
	tornDown.ObservedGeneration = fw.Generation
	conds = setCondition(conds, tornDown, in.Now)
	d.Status = Status{
		ObservedGeneration: fw.Generation,
		Phase:              Phase(d.TornDown, d.Active, fw.Spec.Suppressed),
		Role:               fw.EffectiveRole(),
		Tasks:              int32(nonTerminal(in.Tasks)),
		Conditions:         ownConditions(conds),
	}

	d.AddFinalizer = !deleting && !controllerutil.ContainsFinalizer(fw, v1alpha1.FrameworkFinalizer)
	for _, t := range in.Tasks {
		kill := deleting || (d.TornDown && !t.IsTerminal())
		if kill && t.DeletionTimestamp.IsZero() {
			d.Delete = append(d.Delete, TaskRef{Key: types.NamespacedName{Namespace: t.Namespace, Name: t.Name}, UID: t.UID})
		}
	}
	d.RemoveFinalizer = deleting && len(in.Tasks) == 0 && controllerutil.ContainsFinalizer(fw, v1alpha1.FrameworkFinalizer)

	switch {
	case deleting || d.TornDown:
	case d.Active:
		d.RequeueAfter = d.Lease.Expiry.Sub(in.Now)
	default:
		d.RequeueAfter = due.Sub(in.Now)
	}
	return d
}

// ownConditions returns the conditions the controller owns, Active first.
func ownConditions(conds []metav1.Condition) []metav1.Condition {
	var out []metav1.Condition
	for _, t := range []string{v1alpha1.FrameworkActiveCondition, v1alpha1.FrameworkTornDownCondition} {
		if c := meta.FindStatusCondition(conds, t); c != nil {
			out = append(out, *c)
		}
	}
	return out
}

// nonTerminal counts the tasks that have not reached a terminal state.
func nonTerminal(tasks []*v1alpha1.Task) int {
	n := 0
	for _, t := range tasks {
		if !t.IsTerminal() {
			n++
		}
	}
	return n
}
