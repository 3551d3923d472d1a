package node

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Pace is the master's pace of renewals for a cluster too large to renew at
// every agent's own (v1alpha1.NodeHeartbeatConfigMap): an agent whose
// Interval is shorter renews every Interval of the pace instead, and says on
// its Lease (v1alpha1.NodeTimeoutAnnotation) the NodeTimeout the master then
// waits for it.
type Pace struct {
	Interval, NodeTimeout time.Duration
}

// ParsePace reads the pace in the data of v1alpha1.NodeHeartbeatConfigMap; the
// zero Pace when it holds none (the cluster is within its budget).
func ParsePace(data map[string]string) (Pace, error) {
	iv, ok := data[v1alpha1.NodeHeartbeatIntervalKey]
	if !ok {
		return Pace{}, nil
	}
	var p Pace
	var err error
	if p.Interval, err = time.ParseDuration(iv); err != nil || p.Interval <= 0 {
		return Pace{}, fmt.Errorf("data.%s: %q is not a positive duration", v1alpha1.NodeHeartbeatIntervalKey, iv)
	}
	tv := data[v1alpha1.NodeHeartbeatTimeoutKey]
	if p.NodeTimeout, err = time.ParseDuration(tv); err != nil || p.NodeTimeout < p.Interval {
		return Pace{}, fmt.Errorf("data.%s: %q is not a duration of at least the interval (%s)", v1alpha1.NodeHeartbeatTimeoutKey, tv, p.Interval)
	}
	return p, nil
}

// readPace reads the master's pace. Without one (none published, or the
// agent may not read it) the agent keeps its own; when it cannot be read now,
// the pace last read stands and it is read again at the next beat.
func (h *Heartbeat) readPace(ctx context.Context) {
	cm, err := h.Leases.CoreV1().ConfigMaps(h.LeaseNamespace).Get(ctx, v1alpha1.NodeHeartbeatConfigMap,
		metav1.GetOptions{ResourceVersion: "0"}) // the watch cache's copy will do
	switch {
	case apierrors.IsNotFound(err) || apierrors.IsForbidden(err):
		cm = &corev1.ConfigMap{}
	case err != nil:
		log.FromContext(ctx).V(1).Info("Cannot read the master's heartbeat pace; keeping the last one", "node", h.Node, "err", err)
		return
	}
	pace, err := ParsePace(cm.Data)
	if err != nil {
		log.FromContext(ctx).Error(err, "Ignoring the master's heartbeat pace", "configMap", h.LeaseNamespace+"/"+v1alpha1.NodeHeartbeatConfigMap)
	}
	h.paceRead = h.Clock.Now()
	if pace != h.pace {
		log.FromContext(ctx).Info("Heartbeat pace changed", "node", h.Node, "interval", pace.Interval, "nodeTimeout", pace.NodeTimeout)
		h.pace = pace
		h.drawStatusEvery()
	}
}

// stretched reports whether the agent renews at the master's pace rather than
// its own.
func (h *Heartbeat) stretched() bool {
	return h.pace.Interval > h.Interval
}

// stretch is how many times longer than its own Interval the agent waits
// between renewals: 1 at its own pace.
func (h *Heartbeat) stretch() float64 {
	return float64(h.interval()) / float64(h.Interval)
}

// interval is the time between renewals: the agent's own Interval, or the
// master's pace when that is longer.
func (h *Heartbeat) interval() time.Duration {
	if h.stretched() {
		return h.pace.Interval
	}
	return h.Interval
}

// leaseDuration is the Lease's leaseDurationSeconds: LeaseDuration, stretched
// as the interval is.
func (h *Heartbeat) leaseDuration() time.Duration {
	if !h.stretched() {
		return h.LeaseDuration
	}
	return time.Duration(float64(h.LeaseDuration) * h.stretch()).Round(time.Second)
}

// annotatePace sets or removes the node timeout on lease, as the pace is.
func (h *Heartbeat) annotatePace(lease *coordinationv1.Lease) {
	if h.stretched() {
		if lease.Annotations == nil {
			lease.Annotations = map[string]string{}
		}
		lease.Annotations[v1alpha1.NodeTimeoutAnnotation] = h.pace.NodeTimeout.String()
		return
	}
	delete(lease.Annotations, v1alpha1.NodeTimeoutAnnotation)
}
