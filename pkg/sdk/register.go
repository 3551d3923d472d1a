package sdk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
)

// errRoleMismatch is returned when the Framework exists with another role, which
// is immutable.
var errRoleMismatch = errors.New("role is immutable")

// applySpec makes the spec of obj (a new or existing Framework) say what fw asks
// for, with suppressed as given; it reports whether it changed anything. The
// role of an existing Framework cannot change: asking for another is an error,
// and an empty Framework.Role takes the existing one. Revive is left alone.
func applySpec(obj *v1alpha1.Framework, fw Framework, suppressed bool) (bool, error) {
	before := obj.Spec.DeepCopy()
	exists := obj.ResourceVersion != ""
	if exists && fw.Role != "" && fw.Role != obj.EffectiveRole() {
		return false, fmt.Errorf("spec.role: framework %s/%s has role %q, cannot change it to %q: %w",
			obj.Namespace, obj.Name, obj.EffectiveRole(), fw.Role, errRoleMismatch)
	}
	if !exists {
		obj.Spec.Role = fw.Role
	}
	switch {
	case fw.FailoverTimeout > 0:
		obj.Spec.FailoverTimeout = &metav1.Duration{Duration: fw.FailoverTimeout}
	case fw.FailoverTimeout < 0:
		obj.Spec.FailoverTimeout = &metav1.Duration{}
	}
	caps := slices.Clone(fw.Capabilities)
	slices.Sort(caps)
	caps = slices.Compact(caps)
	if len(caps) == 0 {
		caps = nil
	}
	obj.Spec.Capabilities = caps
	if fw.MinAllocatable != nil {
		obj.Spec.MinAllocatable = fw.MinAllocatable.DeepCopy()
	} else {
		obj.Spec.MinAllocatable = nil
	}
	obj.Spec.Suppressed = suppressed
	return !apiequality.Semantic.DeepEqual(before, &obj.Spec), nil
}

// register creates the Framework or adopts the existing one, and returns it. A
// Framework being deleted, or torn down by the master, is waited for (deleted
// first, when torn down) and then created anew: its tasks are gone.
func (d *Driver) register(ctx context.Context) (*v1alpha1.Framework, error) {
	logger := log.FromContext(ctx)
	key := client.ObjectKey{Namespace: d.fw.Namespace, Name: d.fw.Name}
	for {
		obj := &v1alpha1.Framework{}
		err := d.reader.Get(ctx, key, obj)
		switch {
		case apierrors.IsNotFound(err):
			obj = &v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Name: d.fw.Name, Namespace: d.fw.Namespace}}
			if _, err := applySpec(obj, d.fw, d.wantSuppressed()); err != nil {
				return nil, err
			}
			if err := d.c.Create(ctx, obj); err != nil {
				if apierrors.IsAlreadyExists(err) {
					continue
				}
				return nil, fmt.Errorf("failed to create framework %s: %w", key, err)
			}
			logger.Info("Registered framework", "framework", key, "uid", obj.UID)
			return obj, nil
		case err != nil:
			return nil, fmt.Errorf("failed to read framework %s: %w", key, err)
		}
		if obj.DeletionTimestamp == nil && obj.Status.Phase == v1alpha1.FrameworkTornDown {
			logger.Info("Framework was torn down; deleting it to register anew", "framework", key)
			if err := d.c.Delete(ctx, obj, client.Preconditions{UID: &obj.UID}); client.IgnoreNotFound(err) != nil {
				return nil, fmt.Errorf("failed to delete torn down framework %s: %w", key, err)
			}
			continue
		}
		if obj.DeletionTimestamp != nil {
			logger.Info("Waiting for the deleted framework to go", "framework", key)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Second):
			}
			continue
		}
		changed, err := applySpec(obj, d.fw, d.wantSuppressed())
		if err != nil {
			return nil, err
		}
		if changed {
			if err := d.c.Update(ctx, obj); err != nil {
				if apierrors.IsConflict(err) {
					continue
				}
				return nil, fmt.Errorf("failed to update framework %s: %w", key, err)
			}
		}
		logger.Info("Re-registered framework (failover)", "framework", key, "uid", obj.UID)
		return obj, nil
	}
}

// syncSpec writes the wanted suppression and any requested revive into the
// Framework; it returns the updated object, or the object unchanged when
// nothing had to be written. A write that meets a newer version (the master
// writes the status at the same moment, as it does right after a
// registration) is made again at once on that version.
func (d *Driver) syncSpec(ctx context.Context, obj *v1alpha1.Framework) (*v1alpha1.Framework, error) {
	suppressed, revives := d.wanted()
	if obj.Spec.Suppressed == suppressed && revives == 0 {
		return obj, nil
	}
	var fresh *v1alpha1.Framework
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		fresh = &v1alpha1.Framework{}
		if err := d.reader.Get(ctx, client.ObjectKeyFromObject(obj), fresh); err != nil {
			return fmt.Errorf("failed to read framework %s/%s: %w", obj.Namespace, obj.Name, err)
		}
		if fresh.UID != obj.UID {
			return fmt.Errorf("framework %s/%s was replaced", obj.Namespace, obj.Name)
		}
		fresh.Spec.Suppressed = suppressed
		if revives > 0 {
			fresh.Spec.Revive++
		}
		return d.c.Update(ctx, fresh)
	})
	if err != nil {
		return obj, fmt.Errorf("failed to update framework %s/%s: %w", obj.Namespace, obj.Name, err)
	}
	d.revived(revives)
	log.FromContext(ctx).V(1).Info("Updated framework", "suppressed", suppressed, "revive", fresh.Spec.Revive)
	return fresh, nil
}
