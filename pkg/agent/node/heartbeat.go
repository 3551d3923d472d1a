package node

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
)

// FieldManager is the field manager of what the agent writes.
const FieldManager = "meseta-agent"

// Defaults of a Heartbeat. The Interval is Mesos' agent ping interval: five
// renewals fit in the master's default --node-timeout (75s), and a cluster of
// 5,000 nodes costs the master 333 Lease writes a second. An unchanged status
// is written again every five minutes (the kubelet's status report
// frequency): liveness is the Lease's business, and a Node status write costs
// the master several Lease writes.
const (
	DefaultInterval       = 15 * time.Second
	DefaultLeaseDuration  = 40 * time.Second
	DefaultStatusInterval = 5 * time.Minute
)

// Heartbeat registers the agent's Node and keeps it alive: it renews the Lease
// <LeaseNamespace>/<node> every Interval (or at the slower pace the master
// asks of a large cluster, see Pace), and applies the node's status (see
// DesiredStatus) when it changed, when the Ready condition is not what the
// agent says (the master may have set it Unknown), and at least every
// StatusInterval.
type Heartbeat struct {
	// Client reads and writes Nodes (uncached: the agent does not watch them).
	Client client.Client
	// Leases renews the Lease.
	Leases kubernetes.Interface
	// Node is the node's name.
	Node string
	// LeaseNamespace is the namespace of the node's Lease.
	LeaseNamespace string
	// Facts returns what to report; it is called at every beat.
	Facts func() Facts
	// Interval is the time between Lease renewals; default DefaultInterval.
	Interval time.Duration
	// LeaseDuration is the Lease's leaseDurationSeconds; default
	// DefaultLeaseDuration.
	LeaseDuration time.Duration
	// StatusInterval is the longest time between status updates; default
	// DefaultStatusInterval. Each wait is drawn between half of it and all of
	// it, so that nodes that registered together do not all write at once,
	// and stretched as the renewals are (see Pace).
	StatusInterval time.Duration
	// Clock is the time source; default the real clock.
	Clock clock.WithTicker

	// lease is the Lease as last written, renewed without reading it again.
	lease *coordinationv1.Lease
	// pace is the master's pace as last read, and paceRead when it was read.
	pace     Pace
	paceRead time.Time
	// statusEvery is the age at which the status is read and written again
	// though unchanged, drawn by drawStatusEvery; jitter draws in [0, 1).
	statusEvery time.Duration
	jitter      func() float64
	// known is the node's status as last read or written, and read when it was
	// last read from the API server; renewed when the last renewal succeeded.
	known   *v1alpha1.NodeStatus
	read    time.Time
	renewed time.Time
}

func (h *Heartbeat) complete() {
	if h.Interval <= 0 {
		h.Interval = DefaultInterval
	}
	if h.LeaseDuration <= 0 {
		h.LeaseDuration = DefaultLeaseDuration
	}
	if h.StatusInterval <= 0 {
		h.StatusInterval = DefaultStatusInterval
	}
	if h.Clock == nil {
		h.Clock = clock.RealClock{}
	}
	if h.jitter == nil {
		h.jitter = rand.Float64
	}
	if h.statusEvery == 0 {
		h.drawStatusEvery()
	}
}

// drawStatusEvery draws the time until the next unforced status update:
// between half of StatusInterval and all of it, stretched as the interval
// between renewals is.
func (h *Heartbeat) drawStatusEvery() {
	h.statusEvery = time.Duration(float64(h.StatusInterval) * (1 - h.jitter()/2) * h.stretch())
}

// Register creates the Node if it does not exist (with an empty spec: the spec
// belongs to operators), writes its status and renews its Lease, retrying
// every Interval until it succeeds or ctx ends.
func (h *Heartbeat) Register(ctx context.Context) error {
	h.complete()
	logger := log.FromContext(ctx)
	for {
		err := h.beat(ctx, true)
		if err == nil {
			logger.Info("Node registered", "node", h.Node)
			return nil
		}
		logger.Error(err, "Failed to register the node; retrying", "node", h.Node, "retryIn", h.Interval)
		select {
		case <-ctx.Done():
			return fmt.Errorf("failed to register node %s: %w", h.Node, err)
		case <-h.Clock.After(h.Interval):
		}
	}
}

// Start beats every interval (see Pace) until ctx ends; it implements
// manager.Runnable.
func (h *Heartbeat) Start(ctx context.Context) error {
	h.complete()
	logger := log.FromContext(ctx)
	timer := h.Clock.NewTimer(h.interval())
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C():
		}
		if err := h.beat(ctx, false); err != nil && ctx.Err() == nil {
			logger.Error(err, "Heartbeat failed", "node", h.Node)
		}
		timer.Reset(h.interval()) // the beat may have read a new pace
	}
}

// beat renews the Lease and updates the status when needed (always when force).
//
// A beat costs one write, the Lease's: the node is read only every
// StatusInterval, and at once after renewals failed for longer than two
// intervals (the master may have marked it Unknown meanwhile); between reads
// the status last read or written tells whether an update is needed. The
// master's pace is read as often or more (see paceEvery), before the renewal,
// so that the renewal that adopts a slower pace carries its node timeout.
func (h *Heartbeat) beat(ctx context.Context, force bool) error {
	now := h.Clock.Now()
	if h.renewed.IsZero() || now.Sub(h.renewed) > 2*h.interval() {
		h.known = nil
	}
	if force || h.paceRead.IsZero() || now.Sub(h.paceRead) >= h.paceEvery() {
		h.readPace(ctx)
	}
	leaseErr := h.renewLease(ctx)
	if leaseErr == nil {
		h.renewed = now
	}
	statusErr := h.syncStatus(ctx, force)
	if statusErr != nil {
		h.known = nil
		return statusErr
	}
	return leaseErr
}

// paceRecheck is how many renewals an agent makes at most between reads of
// the master's pace, when its status interval is longer: in a cluster that
// grows past its budget (thousands of agents registering at once) the pace
// grows in steps as they register, and an agent that read an early one (its
// own, or a shorter stretch) slows down to the final one within minutes, not
// a whole (stretched) status interval.
const paceRecheck = 8

// paceEvery is how long after the last read of the master's pace the agent
// reads it again: every status interval or every paceRecheck renewals,
// whichever comes first.
func (h *Heartbeat) paceEvery() time.Duration {
	return min(h.statusEvery, paceRecheck*h.interval())
}

// syncStatus creates the node when it is missing and applies its status.
func (h *Heartbeat) syncStatus(ctx context.Context, force bool) error {
	if now := h.Clock.Now(); !force && h.known != nil && now.Sub(h.read) < h.statusEvery {
		if desired := DesiredStatus(h.Facts(), *h.known, now); !NeedsUpdate(*h.known, desired, now, h.statusEvery) {
			return nil
		}
	}
	n := &v1alpha1.Node{}
	err := h.Client.Get(ctx, types.NamespacedName{Name: h.Node}, n)
	if apierrors.IsNotFound(err) {
		n = &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: h.Node}}
		if err := h.Client.Create(ctx, n, client.FieldOwner(FieldManager)); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("failed to create node %s: %w", h.Node, err)
		}
		force = true
	} else if err != nil {
		return fmt.Errorf("failed to get node %s: %w", h.Node, err)
	}
	now := h.Clock.Now()
	h.known, h.read = &n.Status, now
	desired := DesiredStatus(h.Facts(), n.Status, now)
	if !force && !NeedsUpdate(n.Status, desired, now, h.statusEvery) {
		return nil
	}
	if err := h.applyStatus(ctx, desired); err != nil {
		return err
	}
	h.known = &desired
	h.drawStatusEvery()
	return nil
}

// applyStatus writes the agent's fields of the status with server-side apply,
// so the master's fields (phase, allocated, offered, other conditions) stay.
func (h *Heartbeat) applyStatus(ctx context.Context, status v1alpha1.NodeStatus) error {
	body, err := json.Marshal(map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(),
		"kind":       "Node",
		"metadata":   map[string]any{"name": h.Node},
		"status":     status,
	})
	if err != nil {
		return err
	}
	n := &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: h.Node}}
	patch := client.RawPatch(types.ApplyPatchType, body)
	if err := h.Client.Status().Patch(ctx, n, patch, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("failed to update the status of node %s: %w", h.Node, err)
	}
	return nil
}

// renewLease creates or renews the node's Lease. It renews from the Lease it
// last wrote, as the kubelet does, so a beat costs one write; it reads the
// Lease again only when that copy is missing or stale (a conflict).
func (h *Heartbeat) renewLease(ctx context.Context) error {
	if h.lease != nil {
		err := h.updateLease(ctx, h.lease.DeepCopy())
		if err == nil || !(apierrors.IsConflict(err) || apierrors.IsNotFound(err)) {
			return err
		}
		h.lease = nil
	}
	leases := h.Leases.CoordinationV1().Leases(h.LeaseNamespace)
	now := metav1.NewMicroTime(h.Clock.Now())
	seconds := int32(h.leaseDuration() / time.Second)
	lease, err := leases.Get(ctx, h.Node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		lease = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: h.Node, Namespace: h.LeaseNamespace},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: &h.Node, LeaseDurationSeconds: &seconds, AcquireTime: &now, RenewTime: &now,
			},
		}
		h.annotatePace(lease)
		created, err := leases.Create(ctx, lease, metav1.CreateOptions{FieldManager: FieldManager})
		if err != nil {
			return fmt.Errorf("failed to create the lease of node %s: %w", h.Node, err)
		}
		h.lease = created
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to get the lease of node %s: %w", h.Node, err)
	}
	return h.updateLease(ctx, lease)
}

// updateLease renews lease (a copy the caller gives away) and remembers what
// was written.
func (h *Heartbeat) updateLease(ctx context.Context, lease *coordinationv1.Lease) error {
	now := metav1.NewMicroTime(h.Clock.Now())
	seconds := int32(h.leaseDuration() / time.Second)
	h.annotatePace(lease)
	if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != h.Node {
		lease.Spec.HolderIdentity, lease.Spec.AcquireTime = &h.Node, &now
	}
	lease.Spec.LeaseDurationSeconds, lease.Spec.RenewTime = &seconds, &now
	if len(lease.ManagedFields) > 0 {
		// Renewals are untracked once the Lease carries no managedFields.
		lease.ManagedFields = v1alpha1.ResetManagedFields()
	}
	updated, err := h.Leases.CoordinationV1().Leases(h.LeaseNamespace).Update(ctx, lease, metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil {
		return fmt.Errorf("failed to renew the lease of node %s: %w", h.Node, err)
	}
	h.lease = updated
	return nil
}
