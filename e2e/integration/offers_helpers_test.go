package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/controllers/offers"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/master/mastertest"
	"meseta.dev/meseta/pkg/resources"
)

// offersEnv is a master running only the offer and binding controllers, with
// nodes and frameworks created the way agents and the framework lifecycle
// controller would.
type offersEnv struct {
	t   testing.TB
	m   *mastertest.Master
	c   client.Client
	ctl *offers.Controller
}

// startOffers starts a master with the offer controller, on the data dir and
// port of prev when it is not nil (a restart); tune changes its options.
func startOffers(t testing.TB, sched master.SchedulingOptions, prev *mastertest.Master, tune func(*offers.Options)) *offersEnv {
	t.Helper()
	env := &offersEnv{t: t}
	setup := func(mgr ctrl.Manager, s master.SchedulingOptions) error {
		o, err := offers.OptionsFrom(s)
		if err != nil {
			return err
		}
		o.StatusInterval = 300 * time.Millisecond
		o.SuppressGrace = 500 * time.Millisecond
		if tune != nil {
			tune(&o)
		}
		env.ctl, err = offers.New(mgr, o)
		return err
	}
	if sched.AllocationInterval == 0 {
		sched.AllocationInterval = 200 * time.Millisecond
	}
	if sched.NodeTimeout == 0 {
		sched.NodeTimeout = 75 * time.Second
	}
	if sched.MinAllocatable == "" {
		sched.MinAllocatable = "cpus:0.01;mem:32Mi"
	}
	mo := mastertest.Options{Controllers: []master.ControllerSetup{setup}, Scheduling: &sched}
	if prev != nil {
		mo.DataDir, mo.Port = prev.DataDir, prev.Port
	}
	env.m = mastertest.Start(t, mo)
	env.c = env.m.Client(t)
	return env
}

func (e *offersEnv) ctx() context.Context { return context.Background() }

// node registers a ready node with the given allocatable resources, as an
// agent does.
func (e *offersEnv) node(name, spec string) {
	e.t.Helper()
	g := NewWithT(e.t)
	n := &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	g.Expect(e.c.Create(e.ctx(), n)).To(Succeed())
	alloc := resources.MustParse(spec).ToAPI()
	n.Status.Capacity, n.Status.Allocatable = alloc, alloc
	n.Status.Hostname = name
	n.Status.Conditions = []metav1.Condition{{Type: v1alpha1.NodeReadyCondition, Status: metav1.ConditionTrue,
		Reason: v1alpha1.NodeAgentReadyReason, LastTransitionTime: metav1.Now()}}
	g.Expect(e.c.Status().Update(e.ctx(), n)).To(Succeed())
}

// setNodeReady flips a node's Ready condition, as node lifecycle does.
func (e *offersEnv) setNodeReady(name string, ready bool) {
	e.t.Helper()
	status := metav1.ConditionTrue
	if !ready {
		status = metav1.ConditionUnknown
	}
	e.patchStatus(&v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}},
		fmt.Sprintf(`{"status":{"conditions":[{"type":"Ready","status":%q,"reason":"Test","message":"","lastTransitionTime":%q}]}}`,
			status, time.Now().UTC().Format(time.RFC3339)))
}

// cordon sets a node's spec.unschedulable.
func (e *offersEnv) cordon(name string, on bool) {
	e.t.Helper()
	g := NewWithT(e.t)
	body := fmt.Sprintf(`{"spec":{"unschedulable":%t}}`, on)
	g.Expect(e.c.Patch(e.ctx(), &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}},
		client.RawPatch(types.MergePatchType, []byte(body)))).To(Succeed())
}

func (e *offersEnv) patchStatus(obj client.Object, body string) {
	e.t.Helper()
	g := NewWithT(e.t)
	g.Expect(e.c.Status().Patch(e.ctx(), obj, client.RawPatch(types.MergePatchType, []byte(body)))).To(Succeed())
}

// framework creates a namespace and an active Framework in it (its status
// phase set as the framework lifecycle controller does for a fresh Lease).
func (e *offersEnv) framework(ns, name string) types.NamespacedName {
	e.t.Helper()
	g := NewWithT(e.t)
	err := e.c.Create(e.ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if !apierrors.IsAlreadyExists(err) {
		g.Expect(err).NotTo(HaveOccurred())
	}
	f := &v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	g.Expect(e.c.Create(e.ctx(), f)).To(Succeed())
	e.setPhase(ns, name, v1alpha1.FrameworkActive)
	return client.ObjectKeyFromObject(f)
}

func (e *offersEnv) setPhase(ns, name string, phase v1alpha1.FrameworkPhase) {
	e.t.Helper()
	e.patchStatus(&v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}},
		fmt.Sprintf(`{"status":{"phase":%q,"role":%q}}`, phase, ns))
}

// patchFramework merge-patches a Framework's spec.
func (e *offersEnv) patchFramework(fw types.NamespacedName, body string) {
	e.t.Helper()
	g := NewWithT(e.t)
	g.Expect(e.c.Patch(e.ctx(), &v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Name: fw.Name, Namespace: fw.Namespace}},
		client.RawPatch(types.MergePatchType, []byte(body)))).To(Succeed())
}

// offersOf lists a framework's offers, optionally only those in a phase.
func (e *offersEnv) offersOf(fw types.NamespacedName, phase v1alpha1.OfferPhase) []v1alpha1.Offer {
	e.t.Helper()
	var list v1alpha1.OfferList
	NewWithT(e.t).Expect(e.c.List(e.ctx(), &list, client.InNamespace(fw.Namespace))).To(Succeed())
	var out []v1alpha1.Offer
	for _, o := range list.Items {
		if o.Spec.Framework == fw.Name && (phase == "" || o.Status.Phase == phase) {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b v1alpha1.Offer) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	return out
}

// outstanding waits for n outstanding offers of a framework and returns them.
func (e *offersEnv) outstanding(fw types.NamespacedName, n int) []v1alpha1.Offer {
	e.t.Helper()
	var got []v1alpha1.Offer
	NewWithT(e.t).Eventually(func() []v1alpha1.Offer {
		got = e.offersOf(fw, v1alpha1.OfferOutstanding)
		return got
	}, 20*time.Second, 50*time.Millisecond).Should(HaveLen(n))
	return got
}

// task creates a task of a framework on offers.
func (e *offersEnv) task(fw types.NamespacedName, name, spec string, offerNames ...string) *v1alpha1.Task {
	e.t.Helper()
	t := newTask(fw, name, spec, offerNames...)
	NewWithT(e.t).Expect(e.c.Create(e.ctx(), t)).To(Succeed())
	return t
}

func newTask(fw types.NamespacedName, name, spec string, offerNames ...string) *v1alpha1.Task {
	return &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: fw.Namespace},
		Spec: v1alpha1.TaskSpec{
			Framework: fw.Name,
			Offers:    offerNames,
			TaskTemplate: v1alpha1.TaskTemplate{
				Resources: resources.MustParse(spec).ToAPI(),
				Container: v1alpha1.Container{Command: []string{"true"}},
			},
		},
	}
}

// getTask reads a task.
func (e *offersEnv) getTask(key types.NamespacedName) *v1alpha1.Task {
	e.t.Helper()
	var t v1alpha1.Task
	NewWithT(e.t).Expect(e.c.Get(e.ctx(), key, &t)).To(Succeed())
	return &t
}

// waitTask waits until a task is bound or terminal and returns it.
func (e *offersEnv) waitTask(key types.NamespacedName) *v1alpha1.Task {
	e.t.Helper()
	var t *v1alpha1.Task
	NewWithT(e.t).Eventually(func() bool {
		t = e.getTask(key)
		return t.IsBound() || t.IsTerminal()
	}, 20*time.Second, 20*time.Millisecond).Should(BeTrue(), "task %s neither bound nor terminal", key)
	return t
}

func (e *offersEnv) getOffer(key types.NamespacedName) *v1alpha1.Offer {
	e.t.Helper()
	var o v1alpha1.Offer
	NewWithT(e.t).Expect(e.c.Get(e.ctx(), key, &o)).To(Succeed())
	return &o
}

func vec(r v1alpha1.Resources) resources.Vector {
	v, err := resources.FromAPI(r)
	if err != nil {
		panic(err)
	}
	return v
}
