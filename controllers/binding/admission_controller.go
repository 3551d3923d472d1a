package binding

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/ledger"
	"meseta.dev/meseta/pkg/resources"
)

// AdmittedReason is the reason of the True Bound condition of a task that an
// operator placed on a node and that fits there.
const AdmittedReason = "Admitted"

// Admitted reports whether the master admitted a task placed by an operator
// (its Bound condition is True).
func Admitted(t *v1alpha1.Task) bool {
	return meta.IsStatusConditionTrue(t.Status.Conditions, v1alpha1.TaskBoundCondition)
}

// awaitingAdmission reports whether a task was placed on a node by an
// operator (spec.nodeName without offers) and not judged yet: the agent has
// not started it and the master has not admitted it.
func awaitingAdmission(t *v1alpha1.Task) bool {
	return t.Spec.NodeName != "" && len(t.Spec.Offers) == 0 && t.Status.State == "" &&
		!Admitted(t) && t.DeletionTimestamp == nil
}

func addAdmission(mgr ctrl.Manager, o Options) error {
	a := &Admitter{opts: o, cache: mgr.GetClient(), api: o.Client, ledger: o.Ledger}
	return ctrl.NewControllerManagedBy(mgr).
		Named("admission").
		WithOptions(controller.Options{SkipNameValidation: &skipNameValidation}).
		For(&v1alpha1.Task{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(obj client.Object) bool {
			return awaitingAdmission(obj.(*v1alpha1.Task))
		}))).
		Complete(a)
}

// Admitter admits tasks an operator placed on a node directly: a task that
// fits in what the node has free (allocatable less tasks and outstanding
// offers, from the ledger) is recorded there and gets a True Bound
// condition; one that does not fit ends Error with reason Overcommitted,
// once the API confirms that what the ledger counts on the node is still
// there (ledgerBehind).
// Only tasks whose state is empty are judged: the agent may have started the
// others already.
type Admitter struct {
	opts   Options
	cache  client.Client
	api    client.Client
	ledger *ledger.Ledger
}

// Reconcile admits or refuses one task.
func (a *Admitter) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	select {
	case <-a.ledger.Ready():
	case <-ctx.Done():
		return reconcile.Result{}, ctx.Err()
	}
	var t v1alpha1.Task
	if err := a.cache.Get(ctx, req.NamespacedName, &t); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !awaitingAdmission(&t) {
		return reconcile.Result{}, nil
	}
	b := &Binder{opts: a.opts, api: a.api, ledger: a.ledger, x: &exclusive{}}
	res, err := resources.FromAPI(t.Spec.Resources)
	if err != nil {
		return reconcile.Result{}, b.drop(ctx, &t, Drop{Task: t.Name, State: v1alpha1.TaskError,
			Reason: v1alpha1.ReasonTaskInvalid, Message: "spec.resources." + err.Error()})
	}
	lt := ledger.Task{Key: req.NamespacedName, UID: t.UID, Node: t.Spec.NodeName, Resources: res,
		Framework: types.NamespacedName{Namespace: t.Namespace, Name: t.Spec.Framework}}
	err = a.ledger.AdmitTask(lt)
	switch {
	case errors.Is(err, ledger.ErrUnknownNode):
		return reconcile.Result{}, b.drop(ctx, &t, Drop{Task: t.Name, State: v1alpha1.TaskError,
			Reason: v1alpha1.ReasonTaskInvalid, Message: fmt.Sprintf("spec.nodeName: node %s does not exist", t.Spec.NodeName)})
	case err != nil:
		if a.patient(&t) {
			behind, berr := a.ledgerBehind(ctx, t.Spec.NodeName)
			if berr != nil {
				return reconcile.Result{}, berr
			}
			if behind {
				return reconcile.Result{RequeueAfter: retryBehindLedger}, nil
			}
		}
		return reconcile.Result{}, b.drop(ctx, &t, Drop{Task: t.Name, State: v1alpha1.TaskError,
			Reason: v1alpha1.ReasonOvercommitted, Message: err.Error()})
	}
	if err := a.markAdmitted(ctx, &t); err != nil {
		return reconcile.Result{}, err // the ledger keeps it; admitting again is a no-op
	}
	metricsAdmitted.Inc()
	return reconcile.Result{}, nil
}

// markAdmitted sets the task's Bound condition True and puts it in Staging,
// as a bind does. A task that ended meanwhile keeps its terminal state: the
// API refuses to change it.
func (a *Admitter) markAdmitted(ctx context.Context, t *v1alpha1.Task) error {
	now := metav1.NewTime(a.opts.Clock.Now())
	body, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": t.UID},
		"status": map[string]any{"state": v1alpha1.TaskStaging, "message": v1alpha1.StagingMessage, "conditions": []metav1.Condition{{
			Type: v1alpha1.TaskBoundCondition, Status: metav1.ConditionTrue, Reason: AdmittedReason,
			Message: "placed on node " + t.Spec.NodeName + " by an operator; it fits", LastTransitionTime: now,
			ObservedGeneration: t.Generation,
		}}},
	})
	obj := &v1alpha1.Task{}
	obj.Name, obj.Namespace = t.Name, t.Namespace
	err := a.api.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, body), client.FieldOwner(FieldOwner))
	if apierrors.IsNotFound(err) {
		a.ledger.RemoveTask(client.ObjectKeyFromObject(t), t.UID, false)
		return nil
	}
	return err
}
