package sdk

import (
	"context"
	"fmt"
	"math"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// leaseKeeper holds the framework's Lease for one driver.
type leaseKeeper struct {
	c        client.Client
	reader   client.Reader
	key      types.NamespacedName
	identity string
	duration time.Duration
	now      func() time.Time

	obs       leaseObservation
	lastRenew time.Time // when we last renewed successfully, by our clock
}

// try makes one attempt to acquire or renew the Lease. It returns whether we
// hold it now, and, when another process holds it, how long to wait at most
// before trying again. owner, when set, is made the Lease's owner so that
// deleting the Framework deletes its Lease.
func (k *leaseKeeper) try(ctx context.Context, owner *metav1.OwnerReference) (bool, time.Duration, error) {
	l := &coordinationv1.Lease{}
	err := k.reader.Get(ctx, k.key, l)
	switch {
	case apierrors.IsNotFound(err):
		l = nil
	case err != nil:
		return false, 0, fmt.Errorf("failed to read lease %s: %w", k.key, err)
	}
	now := k.now()
	if l != nil {
		k.obs = k.obs.observe(l, now)
	}
	action, wait := decideLease(l, k.identity, k.obs, now)
	switch action {
	case leaseWait:
		return false, wait, nil
	case leaseCreate:
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: k.key.Name, Namespace: k.key.Namespace}}
		k.fill(l, now, true, owner)
		if err := k.c.Create(ctx, l); err != nil {
			return false, 0, fmt.Errorf("failed to create lease %s: %w", k.key, err)
		}
	default:
		k.fill(l, now, action == leaseTakeOver, owner)
		if err := k.c.Update(ctx, l); err != nil {
			return false, 0, fmt.Errorf("failed to %s lease %s: %w", action, k.key, err)
		}
	}
	k.lastRenew = now
	return true, 0, nil
}

// fill writes our record into l: renewed now, acquired now when acquire.
func (k *leaseKeeper) fill(l *coordinationv1.Lease, now time.Time, acquire bool, owner *metav1.OwnerReference) {
	t := metav1.NewMicroTime(now)
	secs := int32(min(math.MaxInt32, max(1, k.duration.Round(time.Second)/time.Second)))
	l.Spec.HolderIdentity = &k.identity
	l.Spec.LeaseDurationSeconds = &secs
	l.Spec.RenewTime = &t
	if acquire {
		l.Spec.AcquireTime = &t
		if l.ResourceVersion != "" {
			n := int32(1)
			if l.Spec.LeaseTransitions != nil {
				n = *l.Spec.LeaseTransitions + 1
			}
			l.Spec.LeaseTransitions = &n
		}
	}
	if owner != nil && !hasOwner(l.OwnerReferences, owner.UID) {
		l.OwnerReferences = append(l.OwnerReferences, *owner)
	}
}

// expired reports whether our last successful renewal is so old that another
// process may have taken the Lease over: we must stop scheduling.
func (k *leaseKeeper) expired() bool {
	// Stop a little before others may take over, to leave room for clock rates.
	return k.now().Sub(k.lastRenew) > k.duration*4/5
}

// release gives the Lease up if we hold it, so another process of the
// framework can take over at once. The master then sees the framework
// inactive within a second.
func (k *leaseKeeper) release(ctx context.Context) error {
	l := &coordinationv1.Lease{}
	if err := k.reader.Get(ctx, k.key, l); err != nil {
		return client.IgnoreNotFound(err)
	}
	if holder, _ := leaseRecord(l); holder != k.identity {
		return nil
	}
	t := metav1.NewMicroTime(k.now())
	one := int32(1)
	l.Spec.HolderIdentity = nil
	l.Spec.LeaseDurationSeconds = &one
	l.Spec.RenewTime = &t
	if err := k.c.Update(ctx, l); err != nil {
		return fmt.Errorf("failed to release lease %s: %w", k.key, err)
	}
	return nil
}

func hasOwner(refs []metav1.OwnerReference, uid types.UID) bool {
	for _, r := range refs {
		if r.UID == uid {
			return true
		}
	}
	return false
}
