package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/controllers"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/master/mastertest"
)

// lcEnv is a master running the lifecycle controllers (node lifecycle,
// framework lifecycle, role status) and nothing else: the tests play the
// agents and the frameworks.
type lcEnv struct {
	t testing.TB
	m *mastertest.Master
	c client.Client
}

// startLifecycle starts a master with the lifecycle controllers and short
// node timeouts.
func startLifecycle(t testing.TB, nodeTimeout, goneTimeout time.Duration) *lcEnv {
	t.Helper()
	sched := master.NewOptions().Scheduling
	sched.NodeTimeout, sched.NodeGoneTimeout = nodeTimeout, goneTimeout
	m := mastertest.Start(t, mastertest.Options{
		Controllers: []master.ControllerSetup{controllers.NodeLifecycle, controllers.FrameworkLifecycle, controllers.RoleStatus},
		Scheduling:  &sched,
	})
	return &lcEnv{t: t, m: m, c: m.Client(t)}
}

func (e *lcEnv) ctx() context.Context { return context.Background() }

// with returns the environment for a subtest.
func (e *lcEnv) with(t testing.TB) *lcEnv {
	c := *e
	c.t = t
	return &c
}

// namespace creates a namespace if it does not exist.
func (e *lcEnv) namespace(name string) {
	e.t.Helper()
	err := e.c.Create(e.ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if !apierrors.IsAlreadyExists(err) {
		NewWithT(e.t).Expect(err).NotTo(HaveOccurred())
	}
}

// node registers a node as its agent does: the Node, its Lease renewed now,
// and a Ready status.
func (e *lcEnv) node(name string) {
	e.t.Helper()
	g := NewWithT(e.t)
	n := &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	g.Expect(e.c.Create(e.ctx(), n)).To(Succeed())
	e.renewNode(name)
	orig := n.DeepCopy()
	n.Status.Hostname = name
	n.Status.Allocatable = v1alpha1.Resources{Cpus: resource.NewQuantity(4, resource.DecimalSI)}
	n.Status.Conditions = []metav1.Condition{{Type: v1alpha1.NodeReadyCondition, Status: metav1.ConditionTrue,
		Reason: v1alpha1.NodeAgentReadyReason, Message: "ready", LastTransitionTime: metav1.Now()}}
	g.Expect(e.c.Status().Patch(e.ctx(), n, client.MergeFrom(orig))).To(Succeed())
}

// renewNode renews a node's Lease meseta-system/<name>, creating it if needed.
func (e *lcEnv) renewNode(name string) {
	e.t.Helper()
	e.renewLease(master.SystemNamespace, name, 40)
}

// renewLease creates or renews the Lease namespace/name at now.
func (e *lcEnv) renewLease(namespace, name string, seconds int32) {
	e.t.Helper()
	g := NewWithT(e.t)
	now := metav1.NewMicroTime(time.Now())
	l := &coordinationv1.Lease{}
	err := e.c.Get(e.ctx(), types.NamespacedName{Namespace: namespace, Name: name}, l)
	if apierrors.IsNotFound(err) {
		holder := "test"
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &seconds, AcquireTime: &now, RenewTime: &now}}
		g.Expect(e.c.Create(e.ctx(), l)).To(Succeed())
		return
	}
	g.Expect(err).NotTo(HaveOccurred())
	l.Spec.RenewTime, l.Spec.LeaseDurationSeconds = &now, &seconds
	g.Expect(e.c.Update(e.ctx(), l)).To(Succeed())
}

// keepRenewing renews a Lease every interval until the returned function is
// called.
func (e *lcEnv) keepRenewing(namespace, name string, seconds int32, interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(interval):
			}
			now := metav1.NewMicroTime(time.Now())
			l := &coordinationv1.Lease{}
			if err := e.c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, l); err != nil {
				continue
			}
			l.Spec.RenewTime, l.Spec.LeaseDurationSeconds = &now, &seconds
			_ = e.c.Update(ctx, l)
		}
	})
	return func() { cancel(); wg.Wait() }
}

// boundTask creates a task of framework fw bound to node (empty: unbound, on
// an offer), with the agent's finalizer when bound, and sets its state as the
// agent would.
func (e *lcEnv) boundTask(ns, fw, name, node string, state v1alpha1.TaskState) *v1alpha1.Task {
	e.t.Helper()
	g := NewWithT(e.t)
	t := &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.TaskSpec{Framework: fw, NodeName: node, TaskTemplate: v1alpha1.TaskTemplate{
			Resources: v1alpha1.Resources{Cpus: resource.NewMilliQuantity(100, resource.DecimalSI)},
			Container: v1alpha1.Container{Command: []string{"true"}},
		}},
	}
	if node == "" {
		t.Spec.Offers = []string{name + "-offer"}
	} else {
		t.Finalizers = []string{v1alpha1.TaskFinalizer}
	}
	g.Expect(e.c.Create(e.ctx(), t)).To(Succeed())
	if state != "" {
		g.Expect(e.setTaskState(types.NamespacedName{Namespace: ns, Name: name}, state)).To(Succeed())
	}
	return t
}

// setTaskState writes a task's state through the status subresource, as the
// agent does.
func (e *lcEnv) setTaskState(key types.NamespacedName, state v1alpha1.TaskState) error {
	t := &v1alpha1.Task{}
	if err := e.c.Get(e.ctx(), key, t); err != nil {
		return err
	}
	orig := t.DeepCopy()
	t.Status.State, t.Status.Reason, t.Status.Message = state, "", "set by the test"
	return e.c.Status().Patch(e.ctx(), t, client.MergeFrom(orig))
}

// fakeAgent plays the agent of a node until stopped: it keeps the node's
// Lease, and kills the node's deleted tasks (state Killed, then the finalizer
// removed), as a real agent does after SIGTERM.
func (e *lcEnv) fakeAgent(node string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			now := metav1.NewMicroTime(time.Now())
			l := &coordinationv1.Lease{}
			if err := e.c.Get(ctx, types.NamespacedName{Namespace: master.SystemNamespace, Name: node}, l); err == nil {
				l.Spec.RenewTime = &now
				_ = e.c.Update(ctx, l)
			}
			var tasks v1alpha1.TaskList
			if err := e.c.List(ctx, &tasks, client.MatchingFields{"spec.nodeName": node}); err != nil {
				continue
			}
			for i := range tasks.Items {
				e.killDeleted(ctx, &tasks.Items[i])
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

// killDeleted finishes a deleted task as its agent would.
func (e *lcEnv) killDeleted(ctx context.Context, t *v1alpha1.Task) {
	if t.DeletionTimestamp.IsZero() {
		return
	}
	if !t.IsTerminal() {
		t.Status.State, t.Status.Reason = v1alpha1.TaskKilled, v1alpha1.ReasonKillRequested
		if err := e.c.Status().Update(ctx, t); err != nil {
			return
		}
	}
	if controllerutil.RemoveFinalizer(t, v1alpha1.TaskFinalizer) {
		_ = e.c.Update(ctx, t)
	}
}

func (e *lcEnv) getNode(g Gomega, name string) *v1alpha1.Node {
	n := &v1alpha1.Node{}
	g.Expect(e.c.Get(e.ctx(), types.NamespacedName{Name: name}, n)).To(Succeed())
	return n
}

func (e *lcEnv) getTask(g Gomega, ns, name string) *v1alpha1.Task {
	t := &v1alpha1.Task{}
	g.Expect(e.c.Get(e.ctx(), types.NamespacedName{Namespace: ns, Name: name}, t)).To(Succeed())
	return t
}

func (e *lcEnv) getFramework(g Gomega, ns, name string) *v1alpha1.Framework {
	f := &v1alpha1.Framework{}
	g.Expect(e.c.Get(e.ctx(), types.NamespacedName{Namespace: ns, Name: name}, f)).To(Succeed())
	return f
}

// gone reports whether obj no longer exists.
func (e *lcEnv) gone(obj client.Object) func() bool {
	return func() bool {
		return apierrors.IsNotFound(e.c.Get(e.ctx(), client.ObjectKeyFromObject(obj), obj))
	}
}

// conditionOf returns the condition of type t in conds, or an empty one.
func conditionOf(conds []metav1.Condition, t string) metav1.Condition {
	if c := meta.FindStatusCondition(conds, t); c != nil {
		return *c
	}
	return metav1.Condition{}
}
