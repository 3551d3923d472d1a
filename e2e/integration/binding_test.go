package integration

import (
	"fmt"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/controllers/binding"
	"meseta.dev/meseta/controllers/offers"
	"meseta.dev/meseta/pkg/ledger"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/master/mastertest"
	"meseta.dev/meseta/pkg/resources"
)

// TestBindingRacingAccepts: two tasks created at once on one offer that holds
// only one of them: exactly one is bound, the other is Dropped with reason
// InvalidOffers, every time.
func TestBindingRacingAccepts(t *testing.T) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{}, nil, nil)
	const rounds = 6
	for i := range rounds {
		env.node(fmt.Sprintf("node-%d", i), "cpus:2;mem:2Gi")
	}
	fw := env.framework("team-a", "analytics")
	os := env.outstanding(fw, rounds)
	for i, o := range os {
		var wg sync.WaitGroup
		keys := make([]types.NamespacedName, 2)
		for j := range 2 {
			keys[j] = types.NamespacedName{Namespace: fw.Namespace, Name: fmt.Sprintf("race-%d-%d", i, j)}
			wg.Go(func() {
				g.Expect(env.c.Create(env.ctx(), newTask(fw, keys[j].Name, "cpus:1.5;mem:1Gi", o.Name))).To(Succeed())
			})
		}
		wg.Wait()
		var bound, dropped int
		for _, k := range keys {
			got := env.waitTask(k)
			switch {
			case got.IsBound():
				bound++
				g.Expect(got.Spec.NodeName).To(Equal(o.Spec.NodeName))
			case got.Status.State == v1alpha1.TaskDropped:
				dropped++
				g.Expect(got.Status.Reason).To(Equal(v1alpha1.ReasonInvalidOffers))
				g.Expect(got.Status.Message).To(Or(
					ContainSubstring("but the task needs cpus 1.5"),
					ContainSubstring("was already accepted by task")), got.Status.Message)
				c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.TaskBoundCondition)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			}
		}
		g.Expect([]int{bound, dropped}).To(Equal([]int{1, 1}), "round %d", i)
		accepted := env.getOffer(client.ObjectKeyFromObject(&o))
		g.Expect(accepted.Status.Phase).To(Equal(v1alpha1.OfferAccepted))
		g.Expect(accepted.Status.Tasks).To(HaveLen(1))
	}
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())
}

// TestBindingManyTasksOneOffer: tasks created together on one offer are bound
// together when it holds them all; a task of another framework, or on offers
// of two nodes, is dropped with a message that says why.
func TestBindingManyTasksOneOffer(t *testing.T) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{}, nil, nil)
	env.node("node-a", "cpus:6;mem:6Gi;ports:[31000-31009]")
	env.node("node-b", "cpus:4;mem:4Gi")
	fw := env.framework("team-a", "analytics")
	os := env.outstanding(fw, 2)
	onA := os[0]
	if onA.Spec.NodeName != "node-a" {
		onA = os[1]
	}
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			g.Expect(env.c.Create(env.ctx(), newTask(fw, fmt.Sprintf("web-%d", i),
				fmt.Sprintf("cpus:1;mem:1Gi;ports:[%d]", 31000+i), onA.Name))).To(Succeed())
		})
	}
	wg.Wait()
	for i := range 4 {
		got := env.waitTask(types.NamespacedName{Namespace: fw.Namespace, Name: fmt.Sprintf("web-%d", i)})
		g.Expect(got.Spec.NodeName).To(Equal("node-a"), "task web-%d: %s", i, got.Status.Message)
	}
	g.Expect(env.getOffer(client.ObjectKeyFromObject(&onA)).Status.Tasks).To(ConsistOf("web-0", "web-1", "web-2", "web-3"))

	// Another framework's tasks cannot use the offers.
	other := env.framework("team-a", "batch")
	onB := env.outstanding(fw, 2) // the remainder on node-a and node-b's offer
	thief := env.task(other, "thief", "cpus:1", onB[0].Name)
	got := env.waitTask(client.ObjectKeyFromObject(thief))
	g.Expect(got.Status.State).To(Equal(v1alpha1.TaskDropped))
	g.Expect(got.Status.Message).To(Equal("offer " + onB[0].Name + " belongs to framework analytics, not batch"))

	both := env.task(fw, "both", "cpus:1", onB[0].Name, onB[1].Name)
	got = env.waitTask(client.ObjectKeyFromObject(both))
	g.Expect(got.Status.State).To(Equal(v1alpha1.TaskDropped))
	g.Expect(got.Status.Message).To(HavePrefix("offers lie on more than one node"))
	missing := env.task(fw, "ghost", "cpus:1", "no-such-offer")
	got = env.waitTask(client.ObjectKeyFromObject(missing))
	g.Expect(got.Status.Message).To(Equal("offer no-such-offer does not exist"))
	// Outstanding offers a dropped task named stay outstanding.
	g.Expect(env.offersOf(fw, v1alpha1.OfferOutstanding)).To(HaveLen(2))
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())
}

// TestBindingOutlivesSuppress: a framework that launches tasks and then
// suppresses its offers (as one does once it has launched what it had to)
// gets its tasks bound: an offer that a task waiting to be bound names is not
// rescinded for the suppression, while its other offers are.
func TestBindingOutlivesSuppress(t *testing.T) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{}, nil, func(o *offers.Options) {
		o.Binding.MaxBatchWait = 5 * time.Second
	})
	env.node("node-a", "cpus:4;mem:4Gi")
	env.node("node-b", "cpus:4;mem:4Gi")
	fw := env.framework("team-a", "analytics")
	os := env.outstanding(fw, 2)
	used, unused := os[0], os[1]
	// The launch says it has two tasks and the binder waits for the second,
	// as it would for a launch whose creates a loaded master is slow to serve.
	launch := func(name string) {
		task := newTask(fw, name, "cpus:1;mem:1Gi", used.Name)
		task.Annotations = map[string]string{v1alpha1.LaunchTasksAnnotation: "2"}
		g.Expect(env.c.Create(env.ctx(), task)).To(Succeed())
	}
	launch("first")
	env.patchFramework(fw, `{"spec":{"suppressed":true}}`)

	g.Eventually(func() v1alpha1.OfferPhase { return env.getOffer(client.ObjectKeyFromObject(&unused)).Status.Phase },
		5*time.Second, 20*time.Millisecond).Should(Equal(v1alpha1.OfferRescinded))
	g.Consistently(func() v1alpha1.OfferPhase { return env.getOffer(client.ObjectKeyFromObject(&used)).Status.Phase },
		time.Second, 50*time.Millisecond).Should(Equal(v1alpha1.OfferOutstanding))
	launch("second")
	for _, name := range []string{"first", "second"} {
		got := env.waitTask(types.NamespacedName{Namespace: fw.Namespace, Name: name})
		g.Expect(got.Spec.NodeName).To(Equal(used.Spec.NodeName), "task %s: %s", name, got.Status.Message)
	}
	g.Expect(env.getOffer(client.ObjectKeyFromObject(&used)).Status.Phase).To(Equal(v1alpha1.OfferAccepted))
	g.Consistently(func() []v1alpha1.Offer { return env.offersOf(fw, v1alpha1.OfferOutstanding) },
		time.Second, 50*time.Millisecond).Should(BeEmpty())
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())
}

// TestBindingDropsLateTaskOfClosedOfferAtOnce: a task that says its launch
// has more tasks to come, on an offer already accepted for others, is dropped
// at once rather than waiting (up to MaxBatchWait) for tasks that could not
// be bound either.
func TestBindingDropsLateTaskOfClosedOfferAtOnce(t *testing.T) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{}, nil, func(o *offers.Options) {
		o.Binding.MaxBatchWait = time.Minute
	})
	env.node("node-a", "cpus:4;mem:4Gi")
	fw := env.framework("team-a", "analytics")
	used := env.outstanding(fw, 1)[0]
	launch := func(name string) {
		task := newTask(fw, name, "cpus:1;mem:1Gi", used.Name)
		task.Annotations = map[string]string{v1alpha1.LaunchTasksAnnotation: "2"}
		g.Expect(env.c.Create(env.ctx(), task)).To(Succeed())
	}
	launch("first")
	launch("second")
	for _, name := range []string{"first", "second"} {
		g.Expect(env.waitTask(types.NamespacedName{Namespace: fw.Namespace, Name: name}).IsBound()).To(BeTrue())
	}
	launched := time.Now()
	launch("late")
	late := env.waitTask(types.NamespacedName{Namespace: fw.Namespace, Name: "late"})
	g.Expect(late.Status.State).To(Equal(v1alpha1.TaskDropped))
	g.Expect(late.Status.Message).To(ContainSubstring("already accepted"))
	g.Expect(time.Since(launched)).To(BeNumerically("<", 20*time.Second), "dropped at once, not after MaxBatchWait (1m)")
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())
}

// TestBindingAcceptRacesDecline: a framework that accepts and declines one
// offer at once gets one outcome: the offer Accepted and the task bound, or
// the offer Declined and the task dropped.
func TestBindingAcceptRacesDecline(t *testing.T) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{}, nil, nil)
	const rounds = 6
	for i := range rounds {
		env.node(fmt.Sprintf("node-%d", i), "cpus:2;mem:2Gi")
	}
	fw := env.framework("team-a", "analytics")
	for i, o := range env.outstanding(fw, rounds) {
		key := types.NamespacedName{Namespace: fw.Namespace, Name: fmt.Sprintf("t-%d", i)}
		var wg sync.WaitGroup
		wg.Go(func() { g.Expect(env.c.Create(env.ctx(), newTask(fw, key.Name, "cpus:1", o.Name))).To(Succeed()) })
		wg.Go(func() {
			g.Expect(env.c.Patch(env.ctx(), o.DeepCopy(), client.RawPatch(types.MergePatchType,
				[]byte(`{"spec":{"decline":{"refuseSeconds":60}}}`)))).To(Succeed())
		})
		wg.Wait()
		task := env.waitTask(key)
		var offer *v1alpha1.Offer
		g.Eventually(func() bool {
			offer = env.getOffer(client.ObjectKeyFromObject(&o))
			return offer.Status.Phase.IsFinal()
		}, 5*time.Second, 20*time.Millisecond).Should(BeTrue())
		if task.IsBound() {
			g.Expect(offer.Status.Phase).To(Equal(v1alpha1.OfferAccepted))
		} else {
			g.Expect(task.Status.State).To(Equal(v1alpha1.TaskDropped))
			g.Expect(offer.Status.Phase).To(Equal(v1alpha1.OfferDeclined))
		}
	}
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())
}

// startWithNothingOffered starts a master with node-a (cpus:2;mem:2Gi) and
// framework team-a/analytics, suppressed once the node was offered to it: the
// offer is rescinded and nothing is offered again, so all of node-a is free.
// (Suppressed before the first offer, a cycle that has not seen the
// suppression yet may still offer.)
func startWithNothingOffered(t *testing.T) (*offersEnv, types.NamespacedName) {
	g := NewWithT(t)
	env := startOffers(t, master.SchedulingOptions{}, nil, nil)
	env.node("node-a", "cpus:2;mem:2Gi")
	fw := env.framework("team-a", "analytics")
	env.outstanding(fw, 1)
	env.patchFramework(fw, `{"spec":{"suppressed":true}}`)
	g.Eventually(func() []v1alpha1.Offer { return env.offersOf(fw, v1alpha1.OfferOutstanding) }, 5*time.Second).Should(BeEmpty())
	g.Eventually(func() int { u, _ := env.ctl.Ledger().Node("node-a"); return u.Offers }, 5*time.Second).Should(BeZero())
	return env, fw
}

// TestBindingOperatorPlacement: a task an operator places on a node without
// offers is admitted if it fits in what is free, and ends Error with reason
// Overcommitted if it does not.
func TestBindingOperatorPlacement(t *testing.T) {
	g := NewWithT(t)
	env, fw := startWithNothingOffered(t)

	place := func(name, spec string) *v1alpha1.Task {
		task := newTask(fw, name, spec)
		task.Spec.NodeName = "node-a"
		g.Expect(env.c.Create(env.ctx(), task)).To(Succeed())
		var got *v1alpha1.Task
		g.Eventually(func() bool {
			got = env.getTask(client.ObjectKeyFromObject(task))
			return binding.Admitted(got) || got.IsTerminal()
		}, 10*time.Second, 20*time.Millisecond).Should(BeTrue())
		return got
	}
	ok := place("placed", "cpus:1.5;mem:1Gi")
	g.Expect(binding.Admitted(ok)).To(BeTrue(), "status %+v", ok.Status)
	g.Expect(ok.Status.State).To(Equal(v1alpha1.TaskStaging), "admitted is bound: staged in the same write")
	tooBig := place("too-big", "cpus:1;mem:512Mi")
	g.Expect(tooBig.Status.State).To(Equal(v1alpha1.TaskError))
	g.Expect(tooBig.Status.Reason).To(Equal(v1alpha1.ReasonOvercommitted))
	g.Expect(tooBig.Status.Message).To(Equal("node node-a has cpus 0.5, mem 1Gi free, short of cpus 0.5"))

	// The admitted task's resources are not offered.
	env.patchFramework(fw, `{"spec":{"suppressed":false}}`)
	o := env.outstanding(fw, 1)[0]
	g.Expect(vec(o.Spec.Resources).Equal(resources.MustParse("cpus:0.5;mem:1Gi"))).To(BeTrue())
}

// TestBindingOperatorPlacementWaitsForLedger: the ledger learns that an offer
// is gone a moment after the API server says so. A task placed in that moment
// is not refused for room the API already shows free: the master confirms the
// ledger's holders against the API and judges the task again once the ledger
// has caught up.
func TestBindingOperatorPlacementWaitsForLedger(t *testing.T) {
	g := NewWithT(t)
	env, fw := startWithNothingOffered(t)

	// An offer the ledger still counts and the API server no longer holds.
	stale := ledger.Offer{Key: types.NamespacedName{Namespace: fw.Namespace, Name: "analytics-node-a-99"},
		UID: "gone", Framework: fw, Node: "node-a", Resources: resources.MustParse("cpus:1;mem:1Gi"), Seq: 99}
	g.Expect(env.ctl.Ledger().AddOffer(stale)).To(Succeed())

	task := newTask(fw, "placed", "cpus:1.5;mem:1Gi")
	task.Spec.NodeName = "node-a"
	g.Expect(env.c.Create(env.ctx(), task)).To(Succeed())
	key := client.ObjectKeyFromObject(task)
	g.Consistently(func() bool { return env.getTask(key).IsTerminal() }, 700*time.Millisecond, 20*time.Millisecond).
		Should(BeFalse(), "not refused while the ledger counts an offer the API server does not hold")
	env.ctl.Ledger().RemoveOffer(stale.Key)
	g.Eventually(func() bool { return binding.Admitted(env.getTask(key)) }, 5*time.Second, 20*time.Millisecond).Should(BeTrue())
	g.Expect(env.getTask(key).Status.State).To(Equal(v1alpha1.TaskStaging))
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())
}

// TestBindingRepairsAfterCrash: a master that stopped between accepting an
// offer and binding its task leaves an Accepted offer naming a task without a
// node. The next master counts the task on the offer's node and binds it.
func TestBindingRepairsAfterCrash(t *testing.T) {
	g := NewWithT(t)
	// The state a crash leaves, written by hand on a master without controllers.
	bare := mastertest.Start(t, mastertest.Options{})
	env := &offersEnv{t: t, m: bare, c: bare.Client(t)}
	env.node("node-a", "cpus:2;mem:2Gi")
	fw := env.framework("team-a", "analytics")
	offer := &v1alpha1.Offer{
		ObjectMeta: metav1.ObjectMeta{Name: "analytics-node-a-1", Namespace: fw.Namespace},
		Spec: v1alpha1.OfferSpec{Framework: fw.Name, NodeName: "node-a",
			Resources: resources.MustParse("cpus:2;mem:2Gi").ToAPI()},
	}
	g.Expect(env.c.Create(env.ctx(), offer)).To(Succeed())
	task := env.task(fw, "half-launched", "cpus:1.5;mem:1Gi", offer.Name)
	env.patchStatus(offer, fmt.Sprintf(`{"status":{"phase":"Accepted","reason":"TasksLaunched","tasks":["half-launched"],"acceptedAt":%q}}`,
		time.Now().UTC().Format(time.RFC3339)))
	bare.Stop()

	env = startOffers(t, master.SchedulingOptions{}, bare, nil)
	got := env.waitTask(client.ObjectKeyFromObject(task))
	g.Expect(got.Spec.NodeName).To(Equal("node-a"), "task status %+v", got.Status)
	g.Expect(got.Status.State).To(Equal(v1alpha1.TaskStaging))
	// Only what the task left is offered.
	o := env.outstanding(fw, 1)[0]
	g.Expect(vec(o.Spec.Resources).Equal(resources.MustParse("cpus:0.5;mem:1Gi"))).To(BeTrue(), "offered %s", vec(o.Spec.Resources))
	g.Expect(o.Name).To(Equal("analytics-node-a-2"), "numbering continues above the names in use")
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())
}

// TestOffersRestartRebuildsLedger: a new master rebuilds the ledger from the
// API: outstanding offers and bound tasks keep holding what they hold, so
// nothing is offered twice and nothing leaks.
func TestOffersRestartRebuildsLedger(t *testing.T) {
	g := NewWithT(t)
	first := startOffers(t, master.SchedulingOptions{}, nil, nil)
	first.node("node-a", "cpus:4;mem:4Gi")
	fw := first.framework("team-a", "analytics")
	o := first.outstanding(fw, 1)[0]
	first.waitTask(client.ObjectKeyFromObject(first.task(fw, "t1", "cpus:1;mem:1Gi", o.Name)))
	rest := first.outstanding(fw, 1)[0]
	first.m.Stop()

	env := startOffers(t, master.SchedulingOptions{}, first.m, nil)
	g.Eventually(func() bool { return env.ctl != nil && env.ctl.Ledger().IsReady() }, 20*time.Second).Should(BeTrue())
	g.Consistently(func() []v1alpha1.Offer { return env.offersOf(fw, v1alpha1.OfferOutstanding) },
		1500*time.Millisecond, 100*time.Millisecond).Should(HaveLen(1), "the old offer still holds the node")
	u, _ := env.ctl.Ledger().Node("node-a")
	g.Expect(u.Allocated.Equal(resources.MustParse("cpus:1;mem:1Gi"))).To(BeTrue())
	g.Expect(u.Offered.Equal(vec(rest.Spec.Resources))).To(BeTrue())
	g.Expect(env.ctl.Ledger().Check()).To(Succeed())

	// The old offer is still good: accepting it works and returns the rest.
	got := env.waitTask(client.ObjectKeyFromObject(env.task(fw, "t2", "cpus:1;mem:1Gi", rest.Name)))
	g.Expect(got.Spec.NodeName).To(Equal("node-a"))
	last := env.outstanding(fw, 1)[0]
	g.Expect(vec(last.Spec.Resources).Equal(resources.MustParse("cpus:2;mem:2Gi"))).To(BeTrue())
	// A deleted task holds its resources until its agent (played here) has
	// written its final status and removed the finalizer the binding added.
	g.Expect(got.Finalizers).To(ContainElement(v1alpha1.TaskFinalizer), "bound with the agent's finalizer")
	g.Expect(env.c.Delete(env.ctx(), got)).To(Succeed())
	g.Consistently(func() bool {
		u, _ := env.ctl.Ledger().Node("node-a")
		return u.Allocated.Equal(resources.MustParse("cpus:2;mem:2Gi"))
	}, time.Second, 50*time.Millisecond).Should(BeTrue(), "the agent has not confirmed the kill yet")
	env.patchStatus(got, `{"status":{"state":"Killed","reason":"KillRequested"}}`)
	g.Expect(env.c.Patch(env.ctx(), got, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`)))).To(Succeed())
	g.Eventually(func() bool {
		u, _ := env.ctl.Ledger().Node("node-a")
		return u.Allocated.Equal(resources.MustParse("cpus:1;mem:1Gi"))
	}, 5*time.Second, 20*time.Millisecond).Should(BeTrue())
	env.outstanding(fw, 2)
}
