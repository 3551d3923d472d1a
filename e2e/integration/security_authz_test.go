package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mesetav1alpha1 "meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/master/mastertest"
	"meseta.dev/meseta/pkg/security"
)

// verdict is what a request must get.
type verdict int

const (
	allowed verdict = iota
	// forbidden is 403: RBAC, or an admission policy with reason Forbidden.
	forbidden
)

// securityFixture is a cluster with two teams, two nodes and one identity of
// every kind.
type securityFixture struct {
	admin     client.Client
	agent     identity // meseta:node:node-a
	framework identity // service account team-a/analytics, meseta:framework in team-a
	viewer    identity // alice, meseta:viewer
	operator  identity // bob, meseta:operator
	mesetaAdm identity // carol, meseta:admin
	editor    identity // dave, Kubernetes' edit in team-a
}

func newSecurityFixture(t *testing.T, m *mastertest.Master) *securityFixture {
	t.Helper()
	g := NewWithT(t)
	ctx := t.Context()
	f := &securityFixture{admin: m.Client(t)}
	c := f.admin
	for _, ns := range []string{"team-a", "team-b"} {
		ensureNamespace(t, c, ns)
	}
	objs := []client.Object{
		&mesetav1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-b"}},
		testOffer("team-a", "offer-a", "node-a"),
		testOffer("team-a", "offer-a2", "node-a"),
		testOffer("team-a", "offer-a3", "node-a"),
		testOffer("team-b", "offer-b", "node-b"),
		testTask("team-a", "task-on-a", "node-a", "offer-a"),
		testTask("team-a", "task-on-b", "node-b", "offer-a2"),
		testTask("team-a", "task-to-kill", "node-b", "offer-a3"),
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "node-b", Namespace: "meseta-system"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-password", Namespace: "team-a"}, StringData: map[string]string{"password": "hunter2"}},
	}
	for _, o := range objs {
		g.Expect(c.Create(ctx, o)).To(Succeed(), "creating %T %s", o, o.GetName())
	}
	f.agent = certIdentity(t, m, security.NodeUser("node-a"), security.NodesGroup)
	f.framework = serviceAccountIdentity(t, m, "team-a", "analytics")
	bind(t, c, security.FrameworkRole, "team-a", serviceAccountSubject("team-a", "analytics"))
	f.viewer = certIdentity(t, m, "alice")
	bind(t, c, security.ViewerRole, "", userSubject("alice"))
	f.operator = certIdentity(t, m, "bob")
	bind(t, c, security.OperatorRole, "", userSubject("bob"))
	f.mesetaAdm = certIdentity(t, m, "carol")
	bind(t, c, security.AdminRole, "", userSubject("carol"))
	f.editor = certIdentity(t, m, "dave")
	bind(t, c, "edit", "team-a", userSubject("dave"))

	// RBAC and the aggregated edit role reach the authorizer's cache shortly.
	for _, id := range []identity{f.framework, f.viewer, f.operator, f.mesetaAdm, f.editor} {
		g.Eventually(func() error {
			return id.client.List(ctx, &mesetav1alpha1.TaskList{}, client.InNamespace("team-a"))
		}).WithTimeout(policyWait).Should(Succeed(), "%s can list tasks", id.name)
	}
	return f
}

func testOffer(ns, name, node string) *mesetav1alpha1.Offer {
	return &mesetav1alpha1.Offer{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: mesetav1alpha1.OfferSpec{Framework: "analytics", NodeName: node,
			Resources: mesetav1alpha1.Resources{Cpus: ptr.To(resource.MustParse("1")), Mem: ptr.To(resource.MustParse("1Gi"))}},
	}
}

func testTask(ns, name, node string, offers ...string) *mesetav1alpha1.Task {
	t := &mesetav1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: mesetav1alpha1.TaskSpec{Framework: "analytics", Offers: offers, NodeName: node,
			TaskTemplate: mesetav1alpha1.TaskTemplate{
				Resources: mesetav1alpha1.Resources{Cpus: ptr.To(resource.MustParse("0.1")), Mem: ptr.To(resource.MustParse("32Mi"))},
				Container: mesetav1alpha1.Container{Image: "oci:/images/busybox", Command: []string{"sleep", "60"}},
			}},
	}
	return t
}

// mutate reads an object as the admin, changes it with change, and writes it as
// c: a main-resource update, or a status update when status is true.
func mutate[T client.Object](ctx context.Context, admin, c client.Client, obj T, status bool, change func(T)) error {
	if err := admin.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return err
	}
	change(obj)
	if status {
		return c.Status().Update(ctx, obj)
	}
	return c.Update(ctx, obj)
}

func nodeObj(name string) *mesetav1alpha1.Node {
	return &mesetav1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func taskObj(ns, name string) *mesetav1alpha1.Task {
	return &mesetav1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func offerObj(ns, name string) *mesetav1alpha1.Offer {
	return &mesetav1alpha1.Offer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func leaseObj(ns, name string) *coordinationv1.Lease {
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func renewLease(l *coordinationv1.Lease) {
	l.Spec.HolderIdentity = ptr.To(l.Name)
	l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
}

// TestSecurityAuthorization has every identity try what it must do and what it
// must not, in order (later cases rely on earlier ones, such as the agent
// registering its node first).
func TestSecurityAuthorization(t *testing.T) {
	m := mastertest.Start(t, mastertest.Options{})
	f := newSecurityFixture(t, m)
	admin := f.admin

	tests := []struct {
		name string
		who  identity
		do   func(ctx context.Context, c client.Client) error
		want verdict
		// message, when set, must appear in a refusal: the field or rule named.
		message string
	}{
		// An agent: its own Node, Lease and tasks, nothing else.
		{name: "agent registers its own node", who: f.agent, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, nodeObj("node-a"))
		}},
		{name: "agent registers another node", who: f.agent, want: forbidden, message: "only its own Node", do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, nodeObj("node-c"))
		}},
		{name: "agent updates its own node status", who: f.agent, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, nodeObj("node-a"), true, func(n *mesetav1alpha1.Node) { n.Status.Hostname = "host-a" })
		}},
		{name: "agent updates another node's status", who: f.agent, want: forbidden, message: "may not write node node-b", do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, nodeObj("node-b"), true, func(n *mesetav1alpha1.Node) { n.Status.Hostname = "evil" })
		}},
		{name: "agent labels another node", who: f.agent, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, nodeObj("node-b"), false, func(n *mesetav1alpha1.Node) { n.Labels = map[string]string{"x": "y"} })
		}},
		{name: "operator cordons the agent's node", who: f.operator, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Patch(ctx, nodeObj("node-a"), client.RawPatch(client.Merge.Type(), []byte(`{"spec":{"unschedulable":true}}`)))
		}},
		{name: "agent uncordons itself", who: f.agent, want: forbidden, message: "spec.unschedulable", do: func(ctx context.Context, c client.Client) error {
			return c.Patch(ctx, nodeObj("node-a"), client.RawPatch(client.Merge.Type(), []byte(`{"spec":{"unschedulable":false}}`)))
		}},
		{name: "agent deletes its node", who: f.agent, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Delete(ctx, nodeObj("node-a"))
		}},
		{name: "agent renews its lease", who: f.agent, want: allowed, do: func(ctx context.Context, c client.Client) error {
			l := leaseObj("meseta-system", "node-a")
			renewLease(l)
			return c.Create(ctx, l)
		}},
		{name: "agent renews another node's lease", who: f.agent, want: forbidden, message: "only its own Lease", do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, leaseObj("meseta-system", "node-b"), false, renewLease)
		}},
		{name: "agent takes the masters' leader lease", who: f.agent, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			l := leaseObj("meseta-system", "meseta-controller-manager")
			renewLease(l)
			return c.Create(ctx, l)
		}},
		{name: "agent writes a lease in a framework's namespace", who: f.agent, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			l := leaseObj("team-a", "analytics")
			renewLease(l)
			return c.Create(ctx, l)
		}},
		{name: "agent reads the master's heartbeat pace", who: f.agent, want: allowed, do: func(ctx context.Context, c client.Client) error {
			pace := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "meseta-system", Name: mesetav1alpha1.NodeHeartbeatConfigMap}}
			if err := admin.Create(ctx, pace); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
			return c.Get(ctx, client.ObjectKeyFromObject(pace), &corev1.ConfigMap{})
		}},
		{name: "agent reads another config map of meseta-system", who: f.agent, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Get(ctx, client.ObjectKey{Namespace: "meseta-system", Name: "kube-root-ca.crt"}, &corev1.ConfigMap{})
		}},
		{name: "agent sets the master's heartbeat pace", who: f.agent, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "meseta-system", Name: mesetav1alpha1.NodeHeartbeatConfigMap}}, false,
				func(cm *corev1.ConfigMap) {
					cm.Data = map[string]string{mesetav1alpha1.NodeHeartbeatIntervalKey: "1h", mesetav1alpha1.NodeHeartbeatTimeoutKey: "10h"}
				})
		}},
		{name: "agent reads tasks", who: f.agent, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.List(ctx, &mesetav1alpha1.TaskList{})
		}},
		{name: "agent adds its finalizer to a task bound to it", who: f.agent, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, taskObj("team-a", "task-on-a"), false, func(t *mesetav1alpha1.Task) {
				t.Finalizers = append(t.Finalizers, mesetav1alpha1.TaskFinalizer)
			})
		}},
		{name: "agent updates status of a task bound to it", who: f.agent, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, taskObj("team-a", "task-on-a"), true, func(t *mesetav1alpha1.Task) { t.Status.State = mesetav1alpha1.TaskRunning })
		}},
		{name: "agent updates status of a task bound to another node", who: f.agent, want: forbidden, message: "only tasks bound to its node", do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, taskObj("team-a", "task-on-b"), true, func(t *mesetav1alpha1.Task) { t.Status.State = mesetav1alpha1.TaskFailed })
		}},
		{name: "agent creates a task", who: f.agent, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, testTask("team-a", "agent-task", "node-a"))
		}},
		{name: "agent creates an offer", who: f.agent, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, testOffer("team-a", "agent-offer", "node-a"))
		}},
		{name: "agent reads secrets", who: f.agent, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "db-password"}, &corev1.Secret{})
		}},

		// A framework: its namespace's offers and tasks, as the master allows.
		{name: "framework lists its offers", who: f.framework, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.List(ctx, &mesetav1alpha1.OfferList{}, client.InNamespace("team-a"))
		}},
		{name: "framework lists another namespace's offers", who: f.framework, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.List(ctx, &mesetav1alpha1.OfferList{}, client.InNamespace("team-b"))
		}},
		{name: "framework reads another namespace's offer", who: f.framework, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Get(ctx, client.ObjectKey{Namespace: "team-b", Name: "offer-b"}, &mesetav1alpha1.Offer{})
		}},
		{name: "framework lists offers of all namespaces", who: f.framework, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.List(ctx, &mesetav1alpha1.OfferList{})
		}},
		{name: "framework accepts an offer with a task", who: f.framework, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, testTask("team-a", "accepted", "", "offer-a"))
		}},
		{name: "framework binds a task to a node itself", who: f.framework, want: forbidden, message: "spec.nodeName", do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, testTask("team-a", "self-bound", "node-b", "offer-a2"))
		}},
		{name: "framework launches a task in another namespace", who: f.framework, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, testTask("team-b", "intruder", "", "offer-b"))
		}},
		{name: "framework writes a task's status", who: f.framework, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, taskObj("team-a", "accepted"), true, func(t *mesetav1alpha1.Task) { t.Status.State = mesetav1alpha1.TaskRunning })
		}},
		{name: "framework removes a task's finalizer", who: f.framework, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, taskObj("team-a", "task-on-a"), false, func(t *mesetav1alpha1.Task) { t.Finalizers = nil })
		}},
		{name: "framework declines an offer", who: f.framework, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Patch(ctx, offerObj("team-a", "offer-a2"), client.RawPatch(client.Merge.Type(), []byte(`{"spec":{"decline":{"refuseSeconds":30}}}`)))
		}},
		{name: "framework writes an offer's status", who: f.framework, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, offerObj("team-a", "offer-a"), true, func(o *mesetav1alpha1.Offer) { o.Status.Phase = mesetav1alpha1.OfferAccepted })
		}},
		{name: "framework makes itself an offer", who: f.framework, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, testOffer("team-a", "self-made", "node-a"))
		}},
		{name: "framework reads its namespace's secrets", who: f.framework, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Get(ctx, client.ObjectKey{Namespace: "team-a", Name: "db-password"}, &corev1.Secret{})
		}},
		{name: "framework registers with its namespace's role", who: f.framework, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &mesetav1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "analytics"},
				Spec: mesetav1alpha1.FrameworkSpec{Role: "team-a"}})
		}},
		{name: "framework registers with another team's role", who: f.framework, want: forbidden, message: "spec.role", do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &mesetav1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "sneaky"},
				Spec: mesetav1alpha1.FrameworkSpec{Role: "team-b"}})
		}},
		{name: "framework suppresses itself", who: f.framework, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Patch(ctx, &mesetav1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "analytics"}},
				client.RawPatch(client.Merge.Type(), []byte(`{"spec":{"suppressed":true}}`)))
		}},
		{name: "framework keeps its lease", who: f.framework, want: allowed, do: func(ctx context.Context, c client.Client) error {
			l := leaseObj("team-a", "analytics")
			renewLease(l)
			return c.Create(ctx, l)
		}},
		{name: "framework cordons a node", who: f.framework, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Patch(ctx, nodeObj("node-b"), client.RawPatch(client.Merge.Type(), []byte(`{"spec":{"unschedulable":true}}`)))
		}},
		{name: "framework kills its task", who: f.framework, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Delete(ctx, taskObj("team-a", "accepted"))
		}},

		// People.
		{name: "viewer lists tasks of all namespaces", who: f.viewer, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.List(ctx, &mesetav1alpha1.TaskList{})
		}},
		{name: "viewer reads a node", who: f.viewer, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Get(ctx, client.ObjectKey{Name: "node-a"}, &mesetav1alpha1.Node{})
		}},
		{name: "viewer creates a task", who: f.viewer, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, testTask("team-a", "viewer-task", "", "offer-a"))
		}},
		{name: "viewer cordons a node", who: f.viewer, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Patch(ctx, nodeObj("node-b"), client.RawPatch(client.Merge.Type(), []byte(`{"spec":{"unschedulable":true}}`)))
		}},
		{name: "viewer deletes an offer", who: f.viewer, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Delete(ctx, offerObj("team-a", "offer-a"))
		}},
		{name: "viewer reads secrets", who: f.viewer, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.List(ctx, &corev1.SecretList{}, client.InNamespace("team-a"))
		}},
		{name: "operator drains a node", who: f.operator, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Patch(ctx, nodeObj("node-b"), client.RawPatch(client.Merge.Type(), []byte(`{"spec":{"unschedulable":true,"drain":{"gracePeriod":"30s"}}}`)))
		}},
		{name: "operator creates a DRF role", who: f.operator, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &mesetav1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}})
		}},
		{name: "operator places a task directly", who: f.operator, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, testTask("team-b", "placed", "node-b"))
		}},
		{name: "operator kills a task", who: f.operator, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Delete(ctx, taskObj("team-a", "task-to-kill"))
		}},
		{name: "operator writes a task's status", who: f.operator, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, taskObj("team-a", "task-on-b"), true, func(t *mesetav1alpha1.Task) { t.Status.State = mesetav1alpha1.TaskLost })
		}},
		{name: "operator reads secrets", who: f.operator, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.List(ctx, &corev1.SecretList{})
		}},
		{name: "meseta admin creates a namespace", who: f.mesetaAdm, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-c"}})
		}},
		{name: "meseta admin binds a framework in a namespace", who: f.mesetaAdm, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "framework"},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: security.FrameworkRole},
				Subjects: []rbacv1.Subject{serviceAccountSubject("team-b", "default")}})
		}},
		{name: "meseta admin grants itself cluster-admin", who: f.mesetaAdm, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "carol-root"},
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects: []rbacv1.Subject{userSubject("carol")}})
		}},
		{name: "meseta admin makes an offer", who: f.mesetaAdm, want: forbidden, message: "offers are made by the master", do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, testOffer("team-a", "admin-offer", "node-a"))
		}},
		{name: "meseta admin writes an offer's status", who: f.mesetaAdm, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, offerObj("team-a", "offer-a"), true, func(o *mesetav1alpha1.Offer) { o.Status.Phase = mesetav1alpha1.OfferRescinded })
		}},
		{name: "meseta admin reads secrets", who: f.mesetaAdm, want: forbidden, do: func(ctx context.Context, c client.Client) error {
			return c.List(ctx, &corev1.SecretList{})
		}},
		{name: "namespace editor applies a job", who: f.editor, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, &mesetav1alpha1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "nightly"},
				Spec: mesetav1alpha1.JobSpec{Template: testTask("", "", "").Spec.TaskTemplate}})
		}},
		{name: "namespace editor binds a task to a node", who: f.editor, want: forbidden, message: "spec.nodeName", do: func(ctx context.Context, c client.Client) error {
			return c.Create(ctx, testTask("team-a", "edited", "node-a"))
		}},
		{name: "namespace editor removes the agent's finalizer", who: f.editor, want: forbidden, message: "meseta.dev/task", do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, taskObj("team-a", "task-on-a"), false, func(t *mesetav1alpha1.Task) { t.Finalizers = nil })
		}},
		{name: "namespace editor labels a task", who: f.editor, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, taskObj("team-a", "task-on-a"), false, func(t *mesetav1alpha1.Task) { t.Labels = map[string]string{"team": "a"} })
		}},
		{name: "agent removes its finalizer from a task bound to it", who: f.agent, want: allowed, do: func(ctx context.Context, c client.Client) error {
			return mutate(ctx, admin, c, taskObj("team-a", "task-on-a"), false, func(t *mesetav1alpha1.Task) { t.Finalizers = nil })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := tt.do(t.Context(), tt.who.client)
			switch tt.want {
			case allowed:
				g.Expect(err).NotTo(HaveOccurred(), "%s must be allowed", tt.who.name)
			case forbidden:
				g.Expect(apierrors.IsForbidden(err)).To(BeTrue(), "%s must get 403, got %v", tt.who.name, err)
			}
			if tt.message != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.message)))
			}
		})
	}
}
