package taskadmission

import (
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"

	"meseta.dev/meseta/apis/v1alpha1"
)

// unstructuredTask returns task as the API server holds a custom resource.
func unstructuredTask(t testing.TB, task *v1alpha1.Task) *unstructured.Unstructured {
	t.Helper()
	obj, err := apiruntime.DefaultUnstructuredConverter.ToUnstructured(task)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Task"))
	return u
}

// write returns the admission attributes of a write of obj over old (nil on
// create) through subresource.
func write(t testing.TB, op admission.Operation, resource schema.GroupVersionResource, subresource string, obj, old *v1alpha1.Task) admission.Attributes {
	var stored apiruntime.Object
	if old != nil {
		stored = unstructuredTask(t, old)
	}
	return admission.NewAttributesRecord(unstructuredTask(t, obj), stored, v1alpha1.GroupVersion.WithKind("Task"),
		obj.Namespace, obj.Name, resource, subresource, op, nil, false, &user.DefaultInfo{Name: "someone"})
}

func validTask() *v1alpha1.Task {
	cpus := mustQuantity("0.5")
	return &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "team-a"},
		Spec: v1alpha1.TaskSpec{Framework: "web", Offers: []string{"o-1"}, TaskTemplate: v1alpha1.TaskTemplate{
			Resources: v1alpha1.Resources{Cpus: &cpus},
			Container: v1alpha1.Container{Image: "busybox"},
		}},
	}
}

func TestValidate(t *testing.T) {
	tasks := v1alpha1.GroupVersion.WithResource("tasks")
	invalid := validTask()
	invalid.Spec.Offers = nil // neither offers nor a node
	finished, running := validTask(), validTask()
	finished.Status.State, running.Status.State = v1alpha1.TaskFinished, v1alpha1.TaskRunning
	moved := validTask()
	moved.Spec.Framework = "other"

	tests := []struct {
		name        string
		op          admission.Operation
		resource    schema.GroupVersionResource
		subresource string
		obj, old    *v1alpha1.Task
		want        string // a substring of the 422's message; empty: admitted
	}{
		{name: "a valid task", op: admission.Create, resource: tasks, obj: validTask()},
		{name: "a task without offers or node", op: admission.Create, resource: tasks, obj: invalid,
			want: `Task.meseta.dev "web-1" is invalid: spec.offers: Required value: a task names the offers`},
		{name: "another resource", op: admission.Create, resource: v1alpha1.GroupVersion.WithResource("offers"), obj: invalid},
		{name: "a spec change", op: admission.Update, resource: tasks, obj: moved, old: validTask(),
			want: `spec.framework: Invalid value: "other": framework is immutable`},
		{name: "a finished task's status changed", op: admission.Update, resource: tasks, subresource: "status", obj: running, old: finished,
			want: `status.state: Invalid value: "Running": a task in a terminal state cannot change state`},
		{name: "a status write, with the spec as stored", op: admission.Update, resource: tasks, subresource: "status", obj: finished, old: running},
		{name: "another subresource", op: admission.Update, resource: tasks, subresource: "scale", obj: running, old: finished},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			attrs := write(t, tt.op, tt.resource, tt.subresource, tt.obj, tt.old)
			p := New()
			g.Expect(p.Handles(tt.op)).To(BeTrue())
			err := p.Validate(t.Context(), attrs, nil)
			if tt.want == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
			g.Expect(err.Error()).To(ContainSubstring(tt.want))
		})
	}
}

func TestHandlesWritesOnly(t *testing.T) {
	g := NewWithT(t)
	p := New()
	g.Expect(p.Handles(admission.Delete)).To(BeFalse())
	g.Expect(p.Handles(admission.Connect)).To(BeFalse())
	plugins := admission.NewPlugins()
	Register(plugins)
	g.Expect(plugins.Registered()).To(ContainElement(PluginName))
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// BenchmarkStatusWrite is the plugin's cost on a task's status write
// (Starting to Running), three of every launched task's five writes; compare
// apis/v1alpha1's BenchmarkTaskStatusUpdateCEL, what the CRD's rules cost.
func BenchmarkStatusWrite(b *testing.B) {
	starting, running := validTask(), validTask()
	starting.Status.State, running.Status.State = v1alpha1.TaskStarting, v1alpha1.TaskRunning
	benchmarkValidate(b, write(b, admission.Update, v1alpha1.GroupVersion.WithResource("tasks"), "status", running, starting))
}

// BenchmarkBind is the plugin's cost on a task's binding (nodeName set), a
// write of the task itself: both objects are read into Tasks and compared.
func BenchmarkBind(b *testing.B) {
	unbound, bound := validTask(), validTask()
	bound.Spec.NodeName = "node-a"
	benchmarkValidate(b, write(b, admission.Update, v1alpha1.GroupVersion.WithResource("tasks"), "", bound, unbound))
}

func benchmarkValidate(b *testing.B, attrs admission.Attributes) {
	p := New()
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Validate(b.Context(), attrs, nil); err != nil {
			b.Fatal(err)
		}
	}
}
