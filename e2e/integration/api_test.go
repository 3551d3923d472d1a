package integration

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/storage/cacher/consistency"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"meseta.dev/meseta/pkg/apiserver"
	"meseta.dev/meseta/pkg/master/mastertest"
)

// kinds are sample objects of every Meseta kind, as users write them.
var kinds = map[string]string{
	"Node": `apiVersion: meseta.dev/v1alpha1
kind: Node
metadata: {name: node-a}
spec: {unschedulable: false}
`,
	"Role": `apiVersion: meseta.dev/v1alpha1
kind: Role
metadata: {name: team-a}
spec: {weight: "2"}
`,
	"Framework": `apiVersion: meseta.dev/v1alpha1
kind: Framework
metadata: {name: analytics, namespace: team-a}
spec: {role: team-a, failoverTimeout: 10m, suppressed: false}
`,
	"Offer": `apiVersion: meseta.dev/v1alpha1
kind: Offer
metadata: {name: analytics-node-a-1, namespace: team-a}
spec: {framework: analytics, nodeName: node-a, resources: {cpus: "1.5", mem: 3Gi}}
`,
	"Task": `apiVersion: meseta.dev/v1alpha1
kind: Task
metadata: {name: report-1, namespace: team-a}
spec:
  framework: analytics
  offers: [analytics-node-a-1]
  resources: {cpus: "0.5", mem: 64Mi}
  container: {image: "oci:/images/busybox", command: [sh, -c, "echo hello"], env: [{name: MODE, value: fast}]}
  killGracePeriod: 5s
`,
	"App": `apiVersion: meseta.dev/v1alpha1
kind: App
metadata: {name: web, namespace: team-a}
spec:
  instances: 3
  constraints: [[hostname, UNIQUE]]
  template:
    resources: {cpus: "0.1", mem: 32Mi}
    container: {image: "oci:/images/busybox", command: [httpd, -f, -p, "8080"]}
`,
	"Job": `apiVersion: meseta.dev/v1alpha1
kind: Job
metadata: {name: nightly, namespace: team-a}
spec:
  completions: 5
  parallelism: 2
  backoffLimit: 3
  template: {resources: {cpus: "0.2", mem: 32Mi}, container: {image: "oci:/images/busybox", command: [sh, -c, "exit 0"]}}
`,
}

func object(t testing.TB, manifest string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

func ensureNamespace(t testing.TB, c client.Client, name string) {
	t.Helper()
	err := c.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// watchRoles starts a watch of all Roles.
func watchRoles(ctx context.Context, g Gomega, cfg *rest.Config) watch.Interface {
	wc, err := client.NewWithWatch(cfg, client.Options{})
	g.Expect(err).NotTo(HaveOccurred())
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Group: "meseta.dev", Version: "v1alpha1", Kind: "RoleList"})
	w, err := wc.Watch(ctx, list)
	g.Expect(err).NotTo(HaveOccurred())
	return w
}

// TestAPI exercises every kind against one master.
func TestAPI(t *testing.T) {
	m := mastertest.Start(t, mastertest.Options{})
	c := m.Client(t)
	ensureNamespace(t, c, "team-a")

	for kind, manifest := range kinds {
		t.Run("CRUD "+kind, func(t *testing.T) {
			g := NewWithT(t)
			ctx := t.Context()
			obj := object(t, manifest)
			g.Expect(c.Create(ctx, obj)).To(Succeed())

			got := obj.DeepCopy()
			g.Expect(c.Get(ctx, client.ObjectKeyFromObject(obj), got)).To(Succeed())
			g.Expect(got.GetUID()).NotTo(BeEmpty())

			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(obj.GroupVersionKind())
			g.Expect(c.List(ctx, list, client.InNamespace(obj.GetNamespace()))).To(Succeed())
			g.Expect(list.Items).NotTo(BeEmpty())

			patch := client.MergeFrom(got.DeepCopy())
			got.SetLabels(map[string]string{"patched": "yes"})
			g.Expect(c.Patch(ctx, got, patch)).To(Succeed())
			g.Expect(got.GetLabels()).To(HaveKeyWithValue("patched", "yes"))

			g.Expect(c.Delete(ctx, got)).To(Succeed())
			g.Eventually(func() bool {
				return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(obj), obj.DeepCopy()))
			}).WithTimeout(10 * time.Second).Should(BeTrue())
		})
	}

	t.Run("watch sees creation and change", func(t *testing.T) {
		g := NewWithT(t)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		w := watchRoles(ctx, g, m.RESTConfig())
		defer w.Stop()
		role := object(t, strings.Replace(kinds["Role"], "team-a", "watched", 1))
		g.Expect(c.Create(ctx, role)).To(Succeed())
		g.Eventually(w.ResultChan()).Should(Receive(HaveField("Type", BeEquivalentTo("ADDED"))))
	})

	t.Run("offers and tasks are stored without managedFields unless applied, and their writes stay untracked", func(t *testing.T) {
		g := NewWithT(t)
		ctx := t.Context()
		offer := object(t, strings.Replace(kinds["Offer"], "analytics-node-a-1", "untracked", 1))
		g.Expect(c.Create(ctx, offer)).To(Succeed())
		got := offer.DeepCopy()
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(offer), got)).To(Succeed())
		g.Expect(got.GetManagedFields()).To(BeEmpty())
		g.Expect(got.Object).To(HaveKeyWithValue("spec", HaveKeyWithValue("nodeName", "node-a")), "the rest is stored")

		patch := client.RawPatch(types.MergePatchType, []byte(`{"status":{"phase":"Rescinded","reason":"AgentRemoved"}}`))
		g.Expect(c.Status().Patch(ctx, got, patch)).To(Succeed())
		phase, _, _ := unstructured.NestedString(got.Object, "status", "phase")
		g.Expect(phase).To(Equal("Rescinded"))
		g.Expect(got.GetManagedFields()).To(BeEmpty(), "a status write of an untracked offer is not tracked")

		task := object(t, strings.Replace(kinds["Task"], "report-1", "untracked", 1))
		g.Expect(c.Create(ctx, task)).To(Succeed())
		g.Expect(task.GetManagedFields()).To(BeEmpty(), "a task created by an update")
		note := client.RawPatch(types.MergePatchType, []byte(`{"status":{"message":"noted"}}`))
		g.Expect(c.Status().Patch(ctx, task, note)).To(Succeed())
		g.Expect(task.GetManagedFields()).To(BeEmpty(), "a status write of an untracked task is not tracked")

		applied := object(t, strings.Replace(kinds["Task"], "report-1", "applied", 1))
		g.Expect(c.Patch(ctx, applied, client.Apply, client.FieldOwner("gitops"))).To(Succeed())
		g.Expect(applied.GetManagedFields()).To(ContainElement(HaveField("Manager", "gitops")), "a task created by a server-side apply keeps its record")

		framework := object(t, strings.Replace(kinds["Framework"], "analytics", "tracked", 1))
		g.Expect(c.Create(ctx, framework)).To(Succeed())
		g.Expect(framework.GetManagedFields()).NotTo(BeEmpty(), "other kinds keep their record")
	})

	// A watch started on a quiet cluster gets a queue of 10 events in the
	// watch cache. A client that stopped reading while more was written than
	// its connection holds (about 4 MiB) was closed once those 10 waited;
	// the master now queues a watch's events beside the cache's, so the
	// client catches up instead.
	t.Run("a watch whose client stops reading for a while is not closed", func(t *testing.T) {
		g := NewWithT(t)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		w := watchRoles(ctx, g, m.RESTConfig())
		defer w.Stop()

		role := object(t, strings.Replace(kinds["Role"], "team-a", "slow-reader", 1))
		g.Expect(c.Create(ctx, role)).To(Succeed())
		const updates = 200 // of 100 KB each: 20 MB, five times what the connection holds
		filler := strings.Repeat("x", 100<<10)
		for i := range updates {
			role.SetAnnotations(map[string]string{"filler": filler, "version": strconv.Itoa(i)})
			g.Expect(c.Update(ctx, role)).To(Succeed())
		}
		last := strconv.Itoa(updates - 1)
		seen := 0
		for e := range w.ResultChan() {
			g.Expect(e.Type).NotTo(Equal(watch.Error), "%v", e.Object)
			u, ok := e.Object.(*unstructured.Unstructured)
			if !ok || u.GetName() != "slow-reader" {
				continue
			}
			seen++
			if u.GetAnnotations()["version"] == last {
				break
			}
		}
		g.Expect(seen).To(Equal(updates+1), "the creation and every update, on the one watch")
	})

	// Informers open their watches with a streamed list; the API server
	// would compress such a stream a flush, often one event, at a time.
	// The master sends watches plain and still compresses large lists.
	t.Run("watches are sent uncompressed, large lists compressed", func(t *testing.T) {
		g := NewWithT(t)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		filler := strings.Repeat("x", 100<<10)
		for _, name := range []string{"large-1", "large-2"} { // over the 128 KB a list needs to be compressed
			role := object(t, strings.Replace(kinds["Role"], "team-a", name, 1))
			role.SetAnnotations(map[string]string{"filler": filler})
			g.Expect(c.Create(ctx, role)).To(Succeed())
		}
		hc, err := rest.HTTPClientFor(m.RESTConfig())
		g.Expect(err).NotTo(HaveOccurred())
		encoding := func(query string) string {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.RESTConfig().Host+"/apis/meseta.dev/v1alpha1/roles?"+query, nil)
			g.Expect(err).NotTo(HaveOccurred())
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := hc.Do(req)
			g.Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			g.Expect(resp.StatusCode).To(Equal(http.StatusOK), "GET roles?%s", query)
			return resp.Header.Get("Content-Encoding")
		}
		g.Expect(encoding("watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")).
			To(BeEmpty(), "a watch that starts with a streamed list, as informers open theirs")
		g.Expect(encoding("watch=1")).To(BeEmpty(), "a plain watch")
		g.Expect(encoding("")).To(Equal("gzip"), "a list over 128 KB")
	})

	// Each check lists and decodes every object of a resource from etcd.
	t.Run("the watch caches are checked against etcd every half hour", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(consistency.CheckPeriod).To(Equal(apiserver.CacheConsistencyCheckPeriod))
		g.Expect(consistency.CheckPeriod).To(Equal(30 * time.Minute))
	})

	t.Run("a watch and a list by node see that node's tasks only", func(t *testing.T) {
		g := NewWithT(t)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		onNode := func(name, node string) *unstructured.Unstructured {
			task := object(t, strings.Replace(kinds["Task"], "report-1", name, 1))
			if node != "" {
				g.Expect(unstructured.SetNestedField(task.Object, node, "spec", "nodeName")).To(Succeed())
			}
			return task
		}
		tasks := func() *unstructured.UnstructuredList {
			l := &unstructured.UnstructuredList{}
			l.SetGroupVersionKind(schema.GroupVersionKind{Group: "meseta.dev", Version: "v1alpha1", Kind: "TaskList"})
			return l
		}
		byNode := client.MatchingFields{"spec.nodeName": "node-x"}
		before := tasks()
		g.Expect(c.List(ctx, before, byNode)).To(Succeed())
		wc, err := client.NewWithWatch(m.RESTConfig(), client.Options{})
		g.Expect(err).NotTo(HaveOccurred())
		w, err := wc.Watch(ctx, tasks(), byNode, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: before.GetResourceVersion()}})
		g.Expect(err).NotTo(HaveOccurred())
		defer w.Stop()

		unbound := onNode("by-node-later", "")
		for _, task := range []*unstructured.Unstructured{onNode("by-node-y", "node-y"), onNode("by-node-x", "node-x"), unbound} {
			g.Expect(c.Create(ctx, task)).To(Succeed())
		}
		bind := client.MergeFrom(unbound.DeepCopy())
		g.Expect(unstructured.SetNestedField(unbound.Object, "node-x", "spec", "nodeName")).To(Succeed())
		g.Expect(c.Patch(ctx, unbound, bind)).To(Succeed())

		added := map[string]bool{}
		for len(added) < 2 {
			var ev watch.Event
			g.Eventually(w.ResultChan()).Should(Receive(&ev))
			task := ev.Object.(*unstructured.Unstructured)
			node, _, _ := unstructured.NestedString(task.Object, "spec", "nodeName")
			g.Expect(node).To(Equal("node-x"), "event %s of task %s", ev.Type, task.GetName())
			if ev.Type == watch.Added {
				added[task.GetName()] = true
			}
		}
		g.Expect(added).To(HaveKey("by-node-x"))
		g.Expect(added).To(HaveKey("by-node-later"), "a task bound to the node comes as added")

		after := tasks()
		g.Expect(c.List(ctx, after, byNode)).To(Succeed())
		var names []string
		for _, item := range after.Items {
			names = append(names, item.GetName())
		}
		g.Expect(names).To(ConsistOf("by-node-x", "by-node-later"))
	})

	t.Run("status is a subresource", func(t *testing.T) {
		g := NewWithT(t)
		ctx := t.Context()
		task := object(t, strings.Replace(kinds["Task"], "report-1", "status-1", 1))
		g.Expect(c.Create(ctx, task)).To(Succeed())

		// A status write changes status only.
		withStatus := task.DeepCopy()
		g.Expect(unstructured.SetNestedField(withStatus.Object, "Running", "status", "state")).To(Succeed())
		g.Expect(unstructured.SetNestedField(withStatus.Object, "other", "spec", "framework")).To(Succeed())
		g.Expect(c.Status().Update(ctx, withStatus)).To(Succeed())
		got := task.DeepCopy()
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(task), got)).To(Succeed())
		g.Expect(got.Object["status"]).To(HaveKeyWithValue("state", "Running"))
		g.Expect(got.Object["spec"]).To(HaveKeyWithValue("framework", "analytics"))

		// A main-resource write leaves status alone.
		patch := client.MergeFrom(got.DeepCopy())
		g.Expect(unstructured.SetNestedField(got.Object, "Failed", "status", "state")).To(Succeed())
		g.Expect(c.Patch(ctx, got, patch)).To(Succeed())
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(task), got)).To(Succeed())
		g.Expect(got.Object["status"]).To(HaveKeyWithValue("state", "Running"))
	})

	t.Run("server-side apply tracks field owners", func(t *testing.T) {
		g := NewWithT(t)
		ctx := t.Context()
		app := object(t, strings.Replace(kinds["App"], "name: web", "name: applied", 1))
		g.Expect(c.Patch(ctx, app, client.Apply, client.FieldOwner("gitops"), client.ForceOwnership)).To(Succeed())
		g.Expect(app.GetManagedFields()).To(ContainElement(HaveField("Manager", "gitops")))

		// A second manager changing the same field conflicts.
		other := object(t, strings.Replace(strings.Replace(kinds["App"], "name: web", "name: applied", 1), "instances: 3", "instances: 5", 1))
		err := c.Patch(ctx, other, client.Apply, client.FieldOwner("someone-else"))
		g.Expect(apierrors.IsConflict(err)).To(BeTrue(), "got %v", err)
	})

	t.Run("invalid objects are rejected with the field named", func(t *testing.T) {
		tests := []struct {
			name, manifest, field string
		}{
			{"negative cpus", strings.Replace(kinds["Task"], `cpus: "0.5"`, `cpus: "-1"`, 1), "cpus"},
			{"missing framework", strings.Replace(kinds["Task"], "  framework: analytics\n", "", 1), "spec.framework"},
			{"negative instances", strings.Replace(kinds["App"], "instances: 3", "instances: -1", 1), "spec.instances"},
			{"unknown constraint operator", strings.Replace(kinds["App"], "UNIQUE", "SOMETIMES", 1), "spec.constraints"},
			{"zero role weight", strings.Replace(kinds["Role"], `weight: "2"`, `weight: "0"`, 1), "spec.weight"},
			{"bad port range", strings.Replace(kinds["Offer"], `mem: 3Gi}`, `mem: 3Gi, ports: [{begin: 32000, end: 31000}]}`, 1), "ports"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				g := NewWithT(t)
				err := c.Create(t.Context(), object(t, tt.manifest))
				g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
				g.Expect(err.Error()).To(ContainSubstring(tt.field))
			})
		}
	})

	t.Run("a task's rules hold on every write, dry runs included", func(t *testing.T) {
		g := NewWithT(t)
		ctx := t.Context()
		named := func(name string) *unstructured.Unstructured {
			return object(t, strings.Replace(kinds["Task"], "report-1", name, 1))
		}
		invalid := func(err error, want string) {
			t.Helper()
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			g.Expect(err.Error()).To(ContainSubstring(want))
		}
		orphan := object(t, strings.Replace(strings.Replace(kinds["Task"], "report-1", "rules-0", 1), "  offers: [analytics-node-a-1]\n", "", 1))
		invalid(c.Create(ctx, orphan, client.DryRunAll), "spec.offers: Required value: a task names the offers it is launched on")
		invalid(c.Create(ctx, orphan), "spec.offers: Required value")

		task := named("rules-1")
		g.Expect(c.Create(ctx, task)).To(Succeed())
		changed := task.DeepCopy()
		g.Expect(unstructured.SetNestedField(changed.Object, "oci:/images/other", "spec", "container", "image")).To(Succeed())
		invalid(c.Update(ctx, changed), "spec.container: Invalid value: container is immutable")

		bind := func(node string) error {
			patch := client.MergeFrom(task.DeepCopy())
			g.Expect(unstructured.SetNestedField(task.Object, node, "spec", "nodeName")).To(Succeed())
			return c.Patch(ctx, task, patch)
		}
		g.Expect(bind("node-a")).To(Succeed())
		invalid(bind("node-b"), `spec.nodeName: Invalid value: "node-b": nodeName cannot be changed once set`)

		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(task), task)).To(Succeed())
		setState := func(state string) error {
			patch := client.MergeFrom(task.DeepCopy())
			g.Expect(unstructured.SetNestedField(task.Object, state, "status", "state")).To(Succeed())
			return c.Status().Patch(ctx, task, patch)
		}
		g.Expect(setState("Failed")).To(Succeed())
		invalid(setState("Running"), `status.state: Invalid value: "Running": a task in a terminal state cannot change state`)

		stored := named("rules-1")
		g.Expect(c.Get(ctx, client.ObjectKeyFromObject(stored), stored)).To(Succeed())
		g.Expect(stored.Object["status"]).To(HaveKeyWithValue("state", "Failed"))
		g.Expect(stored.Object["spec"]).To(HaveKeyWithValue("nodeName", "node-a"))
		image, _, _ := unstructured.NestedString(stored.Object, "spec", "container", "image")
		g.Expect(image).To(Equal("oci:/images/busybox"))
	})

	t.Run("owner references cascade", func(t *testing.T) {
		g := NewWithT(t)
		ctx := t.Context()
		fw := object(t, strings.Replace(kinds["Framework"], "analytics", "owner", 1))
		g.Expect(c.Create(ctx, fw)).To(Succeed())
		task := object(t, strings.Replace(kinds["Task"], "report-1", "owned-1", 1))
		task.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "meseta.dev/v1alpha1", Kind: "Framework", Name: fw.GetName(), UID: fw.GetUID()}})
		g.Expect(c.Create(ctx, task)).To(Succeed())
		g.Expect(c.Delete(ctx, fw, client.PropagationPolicy(metav1.DeletePropagationBackground))).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(task), task.DeepCopy()))
		}).WithTimeout(60 * time.Second).Should(BeTrue())
	})

	t.Run("deleting a namespace deletes its contents", func(t *testing.T) {
		g := NewWithT(t)
		ctx := t.Context()
		ensureNamespace(t, c, "doomed")
		task := object(t, strings.Replace(kinds["Task"], "team-a", "doomed", 1))
		g.Expect(c.Create(ctx, task)).To(Succeed())
		g.Eventually(func() error {
			return c.Get(ctx, types.NamespacedName{Namespace: "doomed", Name: "default"}, &corev1.ServiceAccount{})
		}).WithTimeout(30*time.Second).Should(Succeed(), "the service account controller creates a default account")
		g.Expect(c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}})).To(Succeed())
		g.Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, types.NamespacedName{Name: "doomed"}, &corev1.Namespace{}))
		}).WithTimeout(60 * time.Second).Should(BeTrue())
	})
}

// TestMasterRestartKeepsData stops the master and starts another on the same data
// dir and port.
func TestMasterRestartKeepsData(t *testing.T) {
	g := NewWithT(t)
	m := mastertest.Start(t, mastertest.Options{})
	c := m.Client(t)
	ensureNamespace(t, c, "team-a")
	g.Expect(c.Create(t.Context(), object(t, kinds["Framework"]))).To(Succeed())
	m.Stop()

	again := mastertest.Start(t, mastertest.Options{DataDir: m.DataDir, Port: m.Port})
	got := object(t, kinds["Framework"])
	g.Expect(again.Client(t).Get(t.Context(), client.ObjectKeyFromObject(got), got)).To(Succeed())
	g.Expect(got.Object["spec"]).To(HaveKeyWithValue("role", "team-a"))
}
