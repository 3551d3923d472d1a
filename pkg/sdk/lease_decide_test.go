package sdk

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func lease(holder string, renew time.Time, secs int32) *coordinationv1.Lease {
	l := &coordinationv1.Lease{}
	if holder != "" {
		l.Spec.HolderIdentity = ptr.To(holder)
	}
	if !renew.IsZero() {
		l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(renew))
	}
	if secs > 0 {
		l.Spec.LeaseDurationSeconds = ptr.To(secs)
	}
	return l
}

func TestDecideLease(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		lease    *coordinationv1.Lease
		obs      leaseObservation
		want     leaseAction
		wantWait time.Duration
	}{
		{name: "no lease", lease: nil, want: leaseCreate},
		{name: "ours", lease: lease("me", now.Add(-time.Hour), 15), want: leaseRenew},
		{name: "released", lease: lease("", now, 1), want: leaseTakeOver},
		{name: "fresh other, first sight", lease: lease("other", now.Add(-5*time.Second), 15), want: leaseWait, wantWait: 10 * time.Second},
		{name: "expired by its record", lease: lease("other", now.Add(-16*time.Second), 15), want: leaseTakeOver},
		{name: "no renew time, first sight", lease: lease("other", time.Time{}, 15), want: leaseWait, wantWait: 15 * time.Second},
		{
			name:  "unchanged for a lease duration by our clock",
			lease: lease("other", now.Add(time.Hour), 15), // its clock is ahead
			obs:   leaseObservation{holder: "other", renewTime: now.Add(time.Hour), at: now.Add(-15 * time.Second)},
			want:  leaseTakeOver,
		},
		{
			name:     "renewed since last seen",
			lease:    lease("other", now.Add(time.Hour), 15),
			obs:      leaseObservation{holder: "other", renewTime: now.Add(59 * time.Minute), at: now.Add(-14 * time.Second)},
			want:     leaseWait,
			wantWait: 15 * time.Second,
		},
		{name: "default duration", lease: lease("other", now.Add(-14*time.Second), 0), want: leaseWait, wantWait: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, wait := decideLease(tt.lease, "me", tt.obs, now)
			g.Expect(got).To(Equal(tt.want), got.String())
			g.Expect(wait).To(Equal(tt.wantWait))
		})
	}
}

func TestLeaseObservation(t *testing.T) {
	g := NewWithT(t)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	l := lease("other", t0, 15)
	o := leaseObservation{}.observe(l, t0)
	g.Expect(o.at).To(Equal(t0))
	g.Expect(o.observe(l, t0.Add(time.Second)).at).To(Equal(t0), "unchanged record keeps the first sighting")
	l2 := lease("other", t0.Add(3*time.Second), 15)
	g.Expect(o.observe(l2, t0.Add(4*time.Second)).at).To(Equal(t0.Add(4*time.Second)), "a renewal restarts the clock")
}
