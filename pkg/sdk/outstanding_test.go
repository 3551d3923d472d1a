package sdk

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"meseta.dev/meseta/apis/v1alpha1"
)

// listCountingCache serves List and Get from a fake client and counts the
// lists of Tasks; no informer is needed by outstanding.
type listCountingCache struct {
	cache.Cache
	c         client.Client
	taskLists int
}

func (l *listCountingCache) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	return l.c.Get(ctx, key, obj, opts...)
}

func (l *listCountingCache) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if _, ok := list.(*v1alpha1.TaskList); ok {
		l.taskLists++
	}
	return l.c.List(ctx, list, opts...)
}

func offerOf(name, framework string, phase v1alpha1.OfferPhase) *v1alpha1.Offer {
	o := &v1alpha1.Offer{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name}}
	o.Spec.Framework, o.Spec.NodeName, o.Status.Phase = framework, "node-a", phase
	return o
}

func TestOutstandingReadsTasksOnlyWhenAnOfferMayBeDelivered(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	fc := fake.NewClientBuilder().WithScheme(Scheme()).WithObjects(
		offerOf("closed", "analytics", v1alpha1.OfferRescinded),
		offerOf("theirs", "batch", v1alpha1.OfferOutstanding),
		offerOf("claimed", "analytics", v1alpha1.OfferOutstanding),
	).Build()
	lc := &listCountingCache{c: fc}
	now := time.Now()
	d := testDriver()
	d.fw = Framework{Namespace: "team-a", Name: "analytics"}
	d.cache, d.now = lc, func() time.Time { return now }
	d.claims = map[string]time.Time{"claimed": now, "gone": now}

	offers, err := d.outstanding(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(offers).To(BeEmpty())
	g.Expect(lc.taskLists).To(BeZero(), "nothing to deliver: the tasks are not read")
	g.Expect(d.claims).To(HaveKey("claimed"))
	g.Expect(d.claims).NotTo(HaveKey("gone"), "a claim on an offer no longer outstanding is forgotten")

	g.Expect(fc.Create(ctx, offerOf("fresh", "analytics", v1alpha1.OfferOutstanding))).To(Succeed())
	offers, err = d.outstanding(ctx)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(offers).To(HaveLen(1))
	g.Expect(offers[0].Name).To(Equal("fresh"))
	g.Expect(lc.taskLists).To(Equal(1))
}

func TestOnOfferWakesOnlyForOutstandingOffers(t *testing.T) {
	woke := func(obj any) bool {
		d := testDriver()
		d.fw = Framework{Namespace: "team-a", Name: "analytics"}
		d.onOffer(obj)
		select {
		case <-d.wake:
			return true
		default:
			return false
		}
	}
	deleting := offerOf("o", "analytics", v1alpha1.OfferOutstanding)
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	declined := offerOf("o", "analytics", v1alpha1.OfferOutstanding)
	declined.Spec.Decline = &v1alpha1.OfferDecline{}
	for _, tc := range []struct {
		name string
		obj  any
		want bool
	}{
		{"outstanding", offerOf("o", "analytics", v1alpha1.OfferOutstanding), true},
		{"outstanding, its deletion seen late", toolscache.DeletedFinalStateUnknown{Obj: offerOf("o", "analytics", v1alpha1.OfferOutstanding)}, true},
		{"rescinded", offerOf("o", "analytics", v1alpha1.OfferRescinded), false},
		{"accepted", offerOf("o", "analytics", v1alpha1.OfferAccepted), false},
		{"declined", declined, false},
		{"being deleted", deleting, false},
		{"another framework's", offerOf("o", "batch", v1alpha1.OfferOutstanding), false},
	} {
		if got := woke(tc.obj); got != tc.want {
			t.Errorf("%s: woke %v, want %v", tc.name, got, tc.want)
		}
	}
}
