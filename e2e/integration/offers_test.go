package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/controllers/offers"
	"meseta.dev/meseta/pkg/ledger"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/resources"
)

// TestOffersAcceptBindsAndReturnsRemainder: a node is offered whole to the
// only framework; a task on the offer is bound, the offer turns Accepted, and
// what the task did not use is offered again at once. Statuses follow.
func TestOffersAcceptBindsAndReturnsRemainder(t *testing.T) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{AllocationInterval: time.Hour}, nil, nil)
	env.node("node-a", "cpus:4;mem:8Gi;ports:[31000-31009]")
	fw := env.framework("team-a", "analytics")

	o := env.outstanding(fw, 1)[0]
	g.Expect(o.Name).To(Equal("analytics-node-a-1"))
	g.Expect(o.Spec.NodeName).To(Equal("node-a"))
	g.Expect(vec(o.Spec.Resources).Equal(resources.MustParse("cpus:4;mem:8Gi;ports:[31000-31009]"))).To(BeTrue())
	g.Expect(o.Spec.ExpiresAt).To(BeNil())

	task := env.task(fw, "report-1", "cpus:1;mem:1Gi;ports:[31003]", o.Name)
	bound := env.waitTask(client.ObjectKeyFromObject(task))
	g.Expect(bound.Spec.NodeName).To(Equal("node-a"))
	g.Expect(bound.Status.State).To(Equal(v1alpha1.TaskStaging), "the write that binds a task stages it")
	g.Expect(bound.Status.Message).To(Equal(v1alpha1.StagingMessage))

	accepted := env.getOffer(client.ObjectKeyFromObject(&o))
	g.Expect(accepted.Status.Phase).To(Equal(v1alpha1.OfferAccepted))
	g.Expect(accepted.Status.Reason).To(Equal(v1alpha1.OfferReasonTasksLaunched))
	g.Expect(accepted.Status.Tasks).To(Equal([]string{"report-1"}))
	g.Expect(accepted.Status.AcceptedAt).NotTo(BeNil())

	// The remainder is offered again without waiting for the (hour-long) interval.
	rest := env.outstanding(fw, 1)[0]
	g.Expect(vec(rest.Spec.Resources).Equal(resources.MustParse("cpus:3;mem:7Gi;ports:[31000-31002,31004-31009]"))).To(BeTrue(),
		"remainder %s", vec(rest.Spec.Resources))

	g.Eventually(func(g Gomega) {
		var n v1alpha1.Node
		g.Expect(env.c.Get(env.ctx(), types.NamespacedName{Name: "node-a"}, &n)).To(Succeed())
		g.Expect(vec(n.Status.Allocated).Equal(resources.MustParse("cpus:1;mem:1Gi;ports:[31003]"))).To(BeTrue())
		g.Expect(vec(n.Status.Offered).Equal(vec(rest.Spec.Resources))).To(BeTrue())
		var f v1alpha1.Framework
		g.Expect(env.c.Get(env.ctx(), fw, &f)).To(Succeed())
		g.Expect(vec(f.Status.Allocated).Equal(resources.MustParse("cpus:1;mem:1Gi"))).To(BeTrue())
		g.Expect(f.Status.DominantShare).To(Equal("1"))
		g.Expect(f.Status.Phase).To(Equal(v1alpha1.FrameworkActive), "the phase is not ours")
		c := meta.FindStatusCondition(f.Status.Conditions, offers.OffersAvailableCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
	}, 10*time.Second, 100*time.Millisecond).Should(Succeed())
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())
}

// TestOffersDeclineFiltersTheNode: a decline closes the offer and keeps the
// node from the framework for refuseSeconds; deleting an offer declines it
// with the default 5 seconds.
func TestOffersDeclineFiltersTheNode(t *testing.T) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{}, nil, nil)
	env.node("node-a", "cpus:2;mem:2Gi")
	fw := env.framework("team-a", "analytics")
	o := env.outstanding(fw, 1)[0]

	declined := time.Now()
	g.Expect(env.c.Patch(env.ctx(), &o, client.RawPatch(types.MergePatchType,
		[]byte(`{"spec":{"decline":{"refuseSeconds":2}}}`)))).To(Succeed())
	g.Eventually(func() v1alpha1.OfferPhase {
		return env.getOffer(client.ObjectKeyFromObject(&o)).Status.Phase
	}, 5*time.Second, 20*time.Millisecond).Should(Equal(v1alpha1.OfferDeclined))
	g.Expect(env.getOffer(client.ObjectKeyFromObject(&o)).Status.Reason).To(Equal(v1alpha1.OfferReasonDeclinedByFramework))
	// Filtered: no offer while the refusal lasts; then one.
	g.Consistently(func() []v1alpha1.Offer { return env.offersOf(fw, v1alpha1.OfferOutstanding) },
		time.Until(declined.Add(1500*time.Millisecond)), 50*time.Millisecond).Should(BeEmpty())
	g.Eventually(func(g Gomega) {
		var f v1alpha1.Framework
		g.Expect(env.c.Get(env.ctx(), fw, &f)).To(Succeed())
		c := meta.FindStatusCondition(f.Status.Conditions, offers.OffersAvailableCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal("Declined"))
		g.Expect(c.Message).To(ContainSubstring("declined until"))
	}, 2*time.Second, 50*time.Millisecond).Should(Succeed())
	o2 := env.outstanding(fw, 1)[0]
	g.Expect(time.Since(declined)).To(BeNumerically(">=", 2*time.Second-100*time.Millisecond))

	// Deleting an outstanding offer declines it, for 5 seconds.
	deleted := time.Now()
	g.Expect(env.c.Delete(env.ctx(), &o2)).To(Succeed())
	g.Consistently(func() []v1alpha1.Offer { return env.offersOf(fw, v1alpha1.OfferOutstanding) },
		3*time.Second, 100*time.Millisecond).Should(BeEmpty())
	env.outstanding(fw, 1)
	g.Expect(time.Since(deleted)).To(BeNumerically(">=", 5*time.Second-100*time.Millisecond))
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())
}

// TestOffersRescind: cordoning a node, draining it, or losing it (Ready not
// True) rescinds its offers and stops new ones until it is back; so do an
// inactive framework, a suppressed one and a deleted node.
func TestOffersRescind(t *testing.T) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{}, nil, nil)
	env.node("node-a", "cpus:2;mem:2Gi")
	fw := env.framework("team-a", "analytics")

	rescinded := func(o v1alpha1.Offer, reason v1alpha1.OfferReason) {
		t.Helper()
		g.Eventually(func(g Gomega) {
			got := env.getOffer(client.ObjectKeyFromObject(&o))
			g.Expect(got.Status.Phase).To(Equal(v1alpha1.OfferRescinded))
			g.Expect(got.Status.Reason).To(Equal(reason))
			g.Expect(got.Status.ClosedAt).NotTo(BeNil())
		}, 5*time.Second, 20*time.Millisecond).Should(Succeed())
		g.Consistently(func() []v1alpha1.Offer { return env.offersOf(fw, v1alpha1.OfferOutstanding) },
			600*time.Millisecond, 50*time.Millisecond).Should(BeEmpty())
	}

	o := env.outstanding(fw, 1)[0]
	env.cordon("node-a", true)
	rescinded(o, v1alpha1.OfferReasonNodeUnschedulable)
	env.cordon("node-a", false)

	o = env.outstanding(fw, 1)[0]
	env.setNodeReady("node-a", false)
	rescinded(o, v1alpha1.OfferReasonAgentRemoved)
	env.setNodeReady("node-a", true)

	o = env.outstanding(fw, 1)[0]
	g.Expect(env.c.Patch(env.ctx(), &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}},
		client.RawPatch(types.MergePatchType, []byte(`{"spec":{"drain":{}}}`)))).To(Succeed())
	rescinded(o, v1alpha1.OfferReasonNodeUnschedulable)
	g.Expect(env.c.Patch(env.ctx(), &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}},
		client.RawPatch(types.MergePatchType, []byte(`{"spec":{"drain":null}}`)))).To(Succeed())

	o = env.outstanding(fw, 1)[0]
	env.setPhase(fw.Namespace, fw.Name, v1alpha1.FrameworkInactive)
	rescinded(o, v1alpha1.OfferReasonFrameworkInactive)
	env.setPhase(fw.Namespace, fw.Name, v1alpha1.FrameworkActive)

	o = env.outstanding(fw, 1)[0]
	g.Expect(env.c.Delete(env.ctx(), &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}})).To(Succeed())
	rescinded(o, v1alpha1.OfferReasonAgentRemoved)
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())
}

// TestOffersSuppressAndRevive: a suppressed framework loses its offers and
// gets none, and its status says why; reviving clears its decline filters at
// once and is acknowledged in status.observedRevive.
func TestOffersSuppressAndRevive(t *testing.T) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{}, nil, nil)
	env.node("node-a", "cpus:2;mem:2Gi")
	env.node("node-b", "cpus:2;mem:2Gi")
	fw := env.framework("team-a", "analytics")
	env.outstanding(fw, 2)

	env.patchFramework(fw, `{"spec":{"suppressed":true}}`)
	g.Eventually(func() []v1alpha1.Offer { return env.offersOf(fw, v1alpha1.OfferRescinded) },
		5*time.Second, 20*time.Millisecond).Should(HaveLen(2))
	g.Consistently(func() []v1alpha1.Offer { return env.offersOf(fw, v1alpha1.OfferOutstanding) },
		time.Second, 50*time.Millisecond).Should(BeEmpty())
	g.Eventually(func(g Gomega) {
		var f v1alpha1.Framework
		g.Expect(env.c.Get(env.ctx(), fw, &f)).To(Succeed())
		c := meta.FindStatusCondition(f.Status.Conditions, offers.OffersAvailableCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal("FrameworkSuppressed"))
		g.Expect(c.Message).To(Equal("no offers (2 nodes: framework suppressed)"))
	}, 5*time.Second, 50*time.Millisecond).Should(Succeed())

	env.patchFramework(fw, `{"spec":{"suppressed":false}}`)
	os := env.outstanding(fw, 2)
	for _, o := range os {
		g.Expect(env.c.Patch(env.ctx(), &o, client.RawPatch(types.MergePatchType,
			[]byte(`{"spec":{"decline":{"refuseSeconds":3600}}}`)))).To(Succeed())
	}
	g.Eventually(func() []v1alpha1.Offer { return env.offersOf(fw, v1alpha1.OfferDeclined) },
		5*time.Second, 20*time.Millisecond).Should(HaveLen(2))
	g.Consistently(func() []v1alpha1.Offer { return env.offersOf(fw, v1alpha1.OfferOutstanding) },
		time.Second, 50*time.Millisecond).Should(BeEmpty())
	revived := time.Now()
	env.patchFramework(fw, `{"spec":{"revive":1}}`)
	env.outstanding(fw, 2)
	g.Expect(time.Since(revived)).To(BeNumerically("<", 3*time.Second))
	g.Eventually(func() int64 {
		var f v1alpha1.Framework
		g.Expect(env.c.Get(env.ctx(), fw, &f)).To(Succeed())
		return f.Status.ObservedRevive
	}, 5*time.Second, 50*time.Millisecond).Should(Equal(int64(1)))
}

// TestOffersExpire: with an offer timeout, unused offers expire and the node
// is offered again.
func TestOffersExpire(t *testing.T) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{OfferTimeout: 2 * time.Second}, nil, nil)
	env.node("node-a", "cpus:2;mem:2Gi")
	fw := env.framework("team-a", "analytics")
	o := env.outstanding(fw, 1)[0]
	g.Expect(o.Spec.ExpiresAt).NotTo(BeNil())
	g.Expect(o.Spec.ExpiresAt.Sub(o.CreationTimestamp.Time)).To(BeNumerically(">=", 2*time.Second))
	g.Eventually(func(g Gomega) {
		got := env.getOffer(client.ObjectKeyFromObject(&o))
		g.Expect(got.Status.Phase).To(Equal(v1alpha1.OfferExpired))
		g.Expect(got.Status.Reason).To(Equal(v1alpha1.OfferReasonTimeout))
	}, 6*time.Second, 50*time.Millisecond).Should(Succeed())
	g.Expect(env.getOffer(client.ObjectKeyFromObject(&o)).Status.ClosedAt.Time).To(
		BeTemporally(">=", o.Spec.ExpiresAt.Time.Add(-time.Second)))
	next := env.outstanding(fw, 1)[0]
	g.Expect(next.Name).NotTo(Equal(o.Name))

	// A task on an expired offer is dropped.
	task := env.task(fw, "late", "cpus:1", o.Name)
	got := env.waitTask(client.ObjectKeyFromObject(task))
	g.Expect(got.Status.State).To(Equal(v1alpha1.TaskDropped))
	g.Expect(got.Status.Reason).To(Equal(v1alpha1.ReasonInvalidOffers))
	g.Expect(got.Status.Message).To(Equal("offer " + o.Name + " is Expired (Timeout: not used before it expired)"))
}

// TestOffersSurviveBriefSuppress: a framework that suppresses offers and
// takes it back within the grace period keeps the offers it holds; one that
// stays suppressed loses them once the grace period is over.
func TestOffersSurviveBriefSuppress(t *testing.T) {
	g := NewWithT(t)
	const grace = 3 * time.Second
	env := startOffers(t, master.SchedulingOptions{}, nil, func(o *offers.Options) { o.SuppressGrace = grace })
	env.node("node-a", "cpus:2;mem:2Gi")
	fw := env.framework("team-a", "analytics")
	o := env.outstanding(fw, 1)[0]

	env.patchFramework(fw, `{"spec":{"suppressed":true}}`)
	env.patchFramework(fw, `{"spec":{"suppressed":false}}`)
	g.Consistently(func() v1alpha1.OfferPhase { return env.getOffer(client.ObjectKeyFromObject(&o)).Status.Phase },
		grace+time.Second, 100*time.Millisecond).Should(Equal(v1alpha1.OfferOutstanding))

	suppressed := time.Now()
	env.patchFramework(fw, `{"spec":{"suppressed":true}}`)
	g.Eventually(func() v1alpha1.OfferPhase { return env.getOffer(client.ObjectKeyFromObject(&o)).Status.Phase },
		grace+5*time.Second, 50*time.Millisecond).Should(Equal(v1alpha1.OfferRescinded))
	g.Expect(time.Since(suppressed)).To(BeNumerically(">=", grace))
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())
}

// TestOffersCollectClosed: closed offers are deleted after a while.
func TestOffersCollectClosed(t *testing.T) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{}, nil, func(o *offers.Options) {
		o.ClosedOfferTTL, o.GCInterval = time.Second, 300*time.Millisecond
	})
	env.node("node-a", "cpus:2;mem:2Gi")
	fw := env.framework("team-a", "analytics")
	o := env.outstanding(fw, 1)[0]
	env.cordon("node-a", true)
	g.Eventually(func() []v1alpha1.Offer { return env.offersOf(fw, v1alpha1.OfferRescinded) },
		5*time.Second, 20*time.Millisecond).Should(HaveLen(1))
	g.Eventually(func() []v1alpha1.Offer { return env.offersOf(fw, "") }, 5*time.Second, 100*time.Millisecond).Should(BeEmpty())
	_ = o
}

// TestOffersAuditDropsStaleOffers: offers the ledger holds as outstanding that
// the API server does not hold (a burst of them) are dropped together by the
// audit, and the node they held is offered again.
func TestOffersAuditDropsStaleOffers(t *testing.T) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{}, nil, func(o *offers.Options) {
		o.GCInterval = 300 * time.Millisecond
	})
	env.node("node-a", "cpus:2;mem:2Gi")
	fw := env.framework("team-a", "analytics")
	env.outstanding(fw, 1)
	env.patchFramework(fw, `{"spec":{"suppressed":true}}`)
	g.Eventually(func() int { u, _ := env.ctl.Ledger().Node("node-a"); return u.Offers }, 5*time.Second).Should(BeZero())

	const stale = 40
	for i := range stale {
		o := ledger.Offer{Key: types.NamespacedName{Namespace: fw.Namespace, Name: fmt.Sprintf("analytics-node-a-%d", 100+i)},
			UID: types.UID(fmt.Sprintf("gone-%d", i)), Framework: fw, Node: "node-a", Resources: resources.MustParse("cpus:0.05;mem:50Mi"), Seq: uint64(100 + i)}
		g.Expect(env.ctl.Ledger().AddOffer(o)).To(Succeed())
	}
	g.Eventually(func() int { u, _ := env.ctl.Ledger().Node("node-a"); return u.Offers }, 3*time.Second, 20*time.Millisecond).
		Should(BeZero(), "every stale offer dropped within a few audits")
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())

	env.patchFramework(fw, `{"spec":{"suppressed":false}}`)
	g.Eventually(func() []v1alpha1.Offer { return env.offersOf(fw, v1alpha1.OfferOutstanding) }, 5*time.Second, 20*time.Millisecond).
		Should(HaveLen(1), "the node is offered again, whole")
	o := env.offersOf(fw, v1alpha1.OfferOutstanding)[0]
	g.Expect(o.Spec.Resources.Cpus.Cmp(resource.MustParse("2"))).To(BeZero())
}

// TestOffersAuditSparesOffersBeingCreated: offers whose create takes longer
// than two audits (a loaded API server), in flight or waiting for a worker,
// stay in the ledger: the audit does not take the API server's NotFound
// meanwhile for offers gone, which would free the nodes' resources and offer
// them twice.
func TestOffersAuditSparesOffersBeingCreated(t *testing.T) {
	g := NewWithT(t)
	const slow = 1500 * time.Millisecond
	env := startOffers(t, master.SchedulingOptions{}, nil, func(o *offers.Options) {
		o.GCInterval = 100 * time.Millisecond
		o.Workers = 1 // the second node's offer waits for the first's create
		o.WrapClient = func(c client.WithWatch) client.WithWatch {
			return interceptor.NewClient(c, interceptor.Funcs{
				Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
					if _, ok := obj.(*v1alpha1.Offer); ok {
						time.Sleep(slow)
					}
					return c.Create(ctx, obj, opts...)
				},
			})
		}
	})
	env.node("node-a", "cpus:2;mem:2Gi")
	env.node("node-b", "cpus:2;mem:2Gi")
	fw := env.framework("team-a", "analytics")
	first := env.outstanding(fw, 2)
	g.Consistently(func(g Gomega) {
		g.Expect(env.offersOf(fw, v1alpha1.OfferOutstanding)).To(HaveLen(2), "each node offered once")
		for _, node := range []string{"node-a", "node-b"} {
			u, _ := env.ctl.Ledger().Node(node)
			g.Expect(u.Offers).To(Equal(1), "the ledger holds the offer of %s", node)
		}
	}, 3*slow, 50*time.Millisecond).Should(Succeed())
	names := func(offers []v1alpha1.Offer) []string {
		var out []string
		for _, o := range offers {
			out = append(out, o.Name)
		}
		return out
	}
	g.Expect(names(env.offersOf(fw, v1alpha1.OfferOutstanding))).To(Equal(names(first)))
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())
}
