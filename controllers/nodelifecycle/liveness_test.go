package nodelifecycle

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func lease(renew, acquire *time.Time, created time.Time) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(created)}}
	if renew != nil {
		t := metav1.NewMicroTime(*renew)
		l.Spec.RenewTime = &t
	}
	if acquire != nil {
		t := metav1.NewMicroTime(*acquire)
		l.Spec.AcquireTime = &t
	}
	return l
}

func ptr[T any](v T) *T { return &v }

func TestLastSeen(t *testing.T) {
	node := &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(at(10 * time.Second))}}
	tests := []struct {
		name  string
		node  *v1alpha1.Node
		lease *coordinationv1.Lease
		since time.Time
		want  time.Time
	}{
		{name: "no lease: the node's creation", node: node, since: t0, want: at(10 * time.Second)},
		{name: "no node, no lease: since", since: at(time.Second), want: at(time.Second)},
		{name: "renewTime", node: node, lease: lease(ptr(at(time.Minute)), ptr(at(20*time.Second)), t0), since: t0, want: at(time.Minute)},
		{name: "acquireTime when never renewed", node: node, lease: lease(nil, ptr(at(20*time.Second)), t0), since: t0, want: at(20 * time.Second)},
		{name: "lease creation when neither is set", node: node, lease: lease(nil, nil, at(30*time.Second)), since: t0, want: at(30 * time.Second)},
		{name: "a lease older than the node counts from the node", node: node, lease: lease(ptr(at(time.Second)), nil, t0), since: t0, want: at(10 * time.Second)},
		{name: "a master that just started counts from its start", node: node, lease: lease(ptr(at(time.Minute)), nil, t0), since: at(time.Hour), want: at(time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(LastSeen(tt.node, tt.lease, tt.since)).To(BeTemporally("==", tt.want))
		})
	}
}

func TestAssess(t *testing.T) {
	o := Options{NodeTimeout: 75 * time.Second, GoneTimeout: 10 * time.Minute}
	tests := []struct {
		name     string
		now      time.Time
		want     Liveness
		wantNext time.Time
	}{
		{name: "just renewed", now: t0, want: Alive, wantNext: at(75 * time.Second)},
		{name: "just before the node timeout", now: at(75*time.Second - time.Nanosecond), want: Alive, wantNext: at(75 * time.Second)},
		{name: "at the node timeout", now: at(75 * time.Second), want: Unreachable, wantNext: at(75*time.Second + 10*time.Minute)},
		{name: "just before gone", now: at(75*time.Second + 10*time.Minute - time.Nanosecond), want: Unreachable, wantNext: at(75*time.Second + 10*time.Minute)},
		{name: "gone", now: at(75*time.Second + 10*time.Minute), want: Gone},
		{name: "long gone", now: at(24 * time.Hour), want: Gone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			l, next := Assess(t0, tt.now, o)
			g.Expect(l).To(Equal(tt.want))
			g.Expect(next).To(BeTemporally("==", tt.wantNext))
		})
	}
}
