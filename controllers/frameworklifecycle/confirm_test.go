package frameworklifecycle

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

// leaseReader serves one Lease, as the API server has it; nil is NotFound.
type leaseReader struct{ lease *coordinationv1.Lease }

func (r leaseReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	if r.lease == nil {
		return apierrors.NewNotFound(schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, key.Name)
	}
	r.lease.DeepCopyInto(obj.(*coordinationv1.Lease))
	return nil
}

func (r leaseReader) List(context.Context, client.ObjectList, ...client.ListOption) error { return nil }

// TestInactiveIsConfirmed checks that a framework whose Lease looks expired
// in a lagging cache, but was renewed at the API server, stays Active; that
// one expired at the API server too goes Inactive; and which decisions are
// confirmed at all.
func TestInactiveIsConfirmed(t *testing.T) {
	g := NewWithT(t)
	now := at(time.Minute)
	active := framework(condition(v1alpha1.FrameworkActiveCondition, metav1.ConditionTrue, "LeaseRenewed", t0))
	active.Status.Phase = v1alpha1.FrameworkActive
	stale := lease(ptr(at(30*time.Second)), 15, "p1") // expired at 45s in the cache
	stale.ResourceVersion = "10"
	renewed := lease(ptr(at(55*time.Second)), 15, "p1") // renewed at the API server
	renewed.ResourceVersion = "11"

	in := &Input{Framework: active, Lease: stale, Now: now, Since: t0}
	d := Decide(*in)
	g.Expect(d.Status.Phase).To(Equal(v1alpha1.FrameworkInactive), "the cache's copy alone says inactive")
	g.Expect(needsConfirmation(active, d)).To(BeTrue())

	r := &Reconciler{APIReader: leaseReader{renewed}}
	confirmed, err := r.confirmLease(context.Background(), in, d)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(confirmed.Status.Phase).To(Equal(v1alpha1.FrameworkActive), "renewed at the API server: still active")

	r.APIReader = leaseReader{stale}
	confirmed, err = r.confirmLease(context.Background(), in, d)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(confirmed.Status.Phase).To(Equal(v1alpha1.FrameworkInactive))

	r.APIReader = leaseReader{nil}
	in.Lease = renewed // the cache has not seen the Lease deleted
	confirmed, err = r.confirmLease(context.Background(), in, Decide(*in))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(confirmed.Status.Phase).To(Equal(v1alpha1.FrameworkInactive), "deleted at the API server")

	inactive := active.DeepCopy()
	inactive.Status.Phase = v1alpha1.FrameworkInactive
	g.Expect(needsConfirmation(inactive, d)).To(BeFalse(), "an inactive framework staying inactive")
	g.Expect(needsConfirmation(active, Decide(Input{Framework: active, Lease: renewed, Now: now, Since: t0}))).To(BeFalse(), "staying active")
}
