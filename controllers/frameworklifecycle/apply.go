package frameworklifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
)

// FieldOwner is the field manager of what the framework lifecycle writes.
const FieldOwner = "meseta-framework-lifecycle"

// statusApply is the server-side apply configuration of the status fields the
// controller owns; every field is sent, zeros included, so that the
// controller keeps owning them.
type statusApply struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Status struct {
		ObservedGeneration int64                   `json:"observedGeneration"`
		Phase              v1alpha1.FrameworkPhase `json:"phase"`
		Role               string                  `json:"role"`
		Tasks              int32                   `json:"tasks"`
		Conditions         []metav1.Condition      `json:"conditions"`
	} `json:"status"`
}

// statusIs reports whether a framework's status already holds s.
func statusIs(cur *v1alpha1.FrameworkStatus, s Status) bool {
	if cur.ObservedGeneration != s.ObservedGeneration || cur.Phase != s.Phase || cur.Role != s.Role || cur.Tasks != s.Tasks {
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

// applyStatus writes the controller's part of the framework's status with
// server-side apply when it differs. It reports whether it wrote.
func (r *Reconciler) applyStatus(ctx context.Context, fw *v1alpha1.Framework, s Status) (bool, error) {
	if statusIs(&fw.Status, s) {
		return false, nil
	}
	a := statusApply{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Framework"}
	a.Metadata.Name, a.Metadata.Namespace = fw.Name, fw.Namespace
	a.Status.ObservedGeneration, a.Status.Phase, a.Status.Role, a.Status.Tasks = s.ObservedGeneration, s.Phase, s.Role, s.Tasks
	a.Status.Conditions = s.Conditions
	body, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	obj := &v1alpha1.Framework{}
	obj.Name, obj.Namespace = fw.Name, fw.Namespace
	err = r.Client.Status().Patch(ctx, obj, client.RawPatch(types.ApplyPatchType, body), client.FieldOwner(FieldOwner), client.ForceOwnership)
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("failed to update the status of framework %s/%s: %w", fw.Namespace, fw.Name, err)
	}
	return true, nil
}

// deleteTasks deletes the given tasks; their agents kill them. It reports
// whether a task had been replaced meanwhile.
func (r *Reconciler) deleteTasks(ctx context.Context, tasks []TaskRef) (bool, error) {
	conflicted := false
	var errs []error
	for _, t := range tasks {
		obj := &v1alpha1.Task{}
		obj.Name, obj.Namespace = t.Key.Name, t.Key.Namespace
		err := r.Client.Delete(ctx, obj, client.Preconditions{UID: &t.UID})
		switch {
		case err == nil:
			log.FromContext(ctx).Info("Task of a removed framework deleted", "task", t.Key)
		case apierrors.IsConflict(err):
			conflicted = true
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Errorf("failed to delete task %s: %w", t.Key, err))
		}
	}
	return conflicted, errors.Join(errs...)
}

func (r *Reconciler) addFinalizer(ctx context.Context, fw *v1alpha1.Framework) error {
	orig := fw.DeepCopy()
	controllerutil.AddFinalizer(fw, v1alpha1.FrameworkFinalizer)
	if err := r.Client.Patch(ctx, fw, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}), client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("failed to add the finalizer of framework %s/%s: %w", fw.Namespace, fw.Name, err)
	}
	return nil
}

func (r *Reconciler) removeFinalizer(ctx context.Context, fw *v1alpha1.Framework) error {
	orig := fw.DeepCopy()
	controllerutil.RemoveFinalizer(fw, v1alpha1.FrameworkFinalizer)
	err := r.Client.Patch(ctx, fw, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}), client.FieldOwner(FieldOwner))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to remove the finalizer of framework %s/%s: %w", fw.Namespace, fw.Name, err)
	}
	log.FromContext(ctx).Info("Tasks of a deleted framework are gone; finalizer removed")
	return nil
}
