package rolestatus

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
)

// FrameworkRoleIndex indexes Frameworks by their effective role in the
// manager's cache.
const FrameworkRoleIndex = "meseta.dev/role-status.role"

// FieldOwner is the field manager of what the controller writes.
const FieldOwner = "meseta-role-status"

// skipNameValidation lets a process run several masters (tests do).
var skipNameValidation = true

// Options configure the controller. The zero value of each field means its
// default.
type Options struct {
	// Clock is the time source.
	Clock clock.PassiveClock
}

// Reconciler keeps the frameworks count and the ParentExists condition of
// Roles.
type Reconciler struct {
	// Client reads from the manager's cache and writes to the API server.
	Client  client.Client
	Options Options
}

// Setup registers the role status controller with mgr.
func Setup(mgr ctrl.Manager, o Options) error {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	r := &Reconciler{Client: mgr.GetClient(), Options: o}
	err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Framework{}, FrameworkRoleIndex, func(obj client.Object) []string {
		return []string{obj.(*v1alpha1.Framework).EffectiveRole()}
	})
	if err != nil {
		return fmt.Errorf("failed to index frameworks by role: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("rolestatus").
		For(&v1alpha1.Role{}).
		Watches(&v1alpha1.Role{}, handler.EnqueueRequestsFromMapFunc(r.children)).
		Watches(&v1alpha1.Framework{}, handler.EnqueueRequestsFromMapFunc(frameworkToRole)).
		WithOptions(controller.Options{SkipNameValidation: &skipNameValidation}).
		Complete(r)
}

// children maps a Role to its child roles, whose ParentExists depends on it.
func (r *Reconciler) children(ctx context.Context, obj client.Object) []reconcile.Request {
	var roles v1alpha1.RoleList
	if err := r.Client.List(ctx, &roles); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range roles.Items {
		if parent, ok := v1alpha1.ParentRole(roles.Items[i].Name); ok && parent == obj.GetName() {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: roles.Items[i].Name}})
		}
	}
	return out
}

func frameworkToRole(_ context.Context, obj client.Object) []reconcile.Request {
	fw, ok := obj.(*v1alpha1.Framework)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: fw.EffectiveRole()}}}
}

// Reconcile writes one role's frameworks count and ParentExists condition.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	role := &v1alpha1.Role{}
	if err := r.Client.Get(ctx, req.NamespacedName, role); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	var fws v1alpha1.FrameworkList
	if err := r.Client.List(ctx, &fws, client.MatchingFields{FrameworkRoleIndex: role.Name}); err != nil {
		return reconcile.Result{}, fmt.Errorf("failed to list the frameworks of role %s: %w", role.Name, err)
	}
	parentExists := false
	if parent, ok := v1alpha1.ParentRole(role.Name); ok {
		err := r.Client.Get(ctx, types.NamespacedName{Name: parent}, &v1alpha1.Role{})
		if err != nil && !apierrors.IsNotFound(err) {
			return reconcile.Result{}, fmt.Errorf("failed to get role %s: %w", parent, err)
		}
		parentExists = err == nil
	}
	s := DesiredStatus(role, CountFrameworks(fws.Items, role.Name), parentExists, r.Options.Clock.Now())
	if statusIs(&role.Status, s) {
		return reconcile.Result{}, nil
	}
	if err := r.apply(ctx, role.Name, s); err != nil {
		return reconcile.Result{}, err
	}
	log.FromContext(ctx).V(1).Info("Role status written", "frameworks", s.Frameworks, "parent", s.Conditions[0].Reason)
	return reconcile.Result{}, nil
}

func statusIs(cur *v1alpha1.RoleStatus, s Status) bool {
	if cur.Frameworks != s.Frameworks {
		return false
	}
	for _, c := range s.Conditions {
		old := meta.FindStatusCondition(cur.Conditions, c.Type)
		if old == nil || !equality.Semantic.DeepEqual(*old, c) {
			return false
		}
	}
	return true
}

// apply writes s with server-side apply; zeros are sent so that the
// controller keeps owning the fields.
func (r *Reconciler) apply(ctx context.Context, name string, s Status) error {
	type status struct {
		Frameworks int32              `json:"frameworks"`
		Conditions []metav1.Condition `json:"conditions"`
	}
	body, err := json.Marshal(map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(),
		"kind":       "Role",
		"metadata":   map[string]any{"name": name},
		"status":     status{Frameworks: s.Frameworks, Conditions: s.Conditions},
	})
	if err != nil {
		return err
	}
	obj := &v1alpha1.Role{}
	obj.Name = name
	err = r.Client.Status().Patch(ctx, obj, client.RawPatch(types.ApplyPatchType, body), client.FieldOwner(FieldOwner), client.ForceOwnership)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to update the status of role %s: %w", name, err)
	}
	return nil
}
