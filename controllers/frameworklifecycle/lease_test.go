package frameworklifecycle

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ptr[T any](v T) *T { return &v }

// lease returns a Lease created at t0, renewed at renew (unless nil) and
// lasting seconds (unless zero).
func lease(renew *time.Time, seconds int32, holder string) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "fw", Namespace: "team-a", CreationTimestamp: metav1.NewTime(t0)}}
	if renew != nil {
		l.Spec.RenewTime = ptr(metav1.NewMicroTime(*renew))
	}
	if seconds != 0 {
		l.Spec.LeaseDurationSeconds = &seconds
	}
	if holder != "" {
		l.Spec.HolderIdentity = &holder
	}
	return l
}

func TestAssessLease(t *testing.T) {
	acquired := lease(nil, 10, "")
	acquired.Spec.AcquireTime = ptr(metav1.NewMicroTime(at(time.Minute)))
	tests := []struct {
		name        string
		lease       *coordinationv1.Lease
		now         time.Time
		wantMissing bool
		wantFresh   bool
		wantExpiry  time.Time
	}{
		{name: "missing", now: t0, wantMissing: true},
		{name: "fresh", lease: lease(ptr(at(10*time.Second)), 15, "me"), now: at(20 * time.Second), wantFresh: true, wantExpiry: at(25 * time.Second)},
		{name: "expired at renewTime plus duration", lease: lease(ptr(at(10*time.Second)), 15, "me"), now: at(25 * time.Second), wantExpiry: at(25 * time.Second)},
		{name: "default duration", lease: lease(ptr(at(10*time.Second)), 0, ""), now: at(24 * time.Second), wantFresh: true, wantExpiry: at(25 * time.Second)},
		{name: "released by the SDK: no holder, one second", lease: lease(ptr(at(10*time.Second)), 1, ""), now: at(11 * time.Second), wantExpiry: at(11 * time.Second)},
		{name: "no holder is fine: a shell script's lease", lease: lease(ptr(at(10*time.Second)), 30, ""), now: at(20 * time.Second), wantFresh: true, wantExpiry: at(40 * time.Second)},
		{name: "never renewed: acquireTime", lease: acquired, now: at(65 * time.Second), wantFresh: true, wantExpiry: at(70 * time.Second)},
		{name: "neither: creation", lease: lease(nil, 10, ""), now: at(10 * time.Second), wantExpiry: at(10 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := AssessLease(tt.lease, tt.now)
			g.Expect(s.Missing).To(Equal(tt.wantMissing))
			g.Expect(s.Fresh).To(Equal(tt.wantFresh))
			if !tt.wantMissing {
				g.Expect(s.Expiry).To(BeTemporally("==", tt.wantExpiry))
			}
		})
	}
}
