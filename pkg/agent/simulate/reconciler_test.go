package simulate

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
)

// countingReconciler is a simulated agent for node sim-1 whose client counts
// the writes of a task's metadata (finalizers) and records its status writes.
type countingReconciler struct {
	*reconciler
	c             client.Client
	metaPatches   int
	statusPatches []v1alpha1.TaskState
}

func newCountingReconciler(t *testing.T, task *v1alpha1.Task) *countingReconciler {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	cr := &countingReconciler{}
	cr.c = fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&v1alpha1.Task{}).WithObjects(task).
		WithInterceptorFuncs(interceptor.Funcs{
			Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
				cr.metaPatches++
				return c.Patch(ctx, obj, patch, opts...)
			},
			SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
				cr.statusPatches = append(cr.statusPatches, obj.(*v1alpha1.Task).Status.State)
				return c.SubResource(sub).Patch(ctx, obj, patch, opts...)
			},
		}).Build()
	cr.reconciler = &reconciler{client: cr.c, tasks: cr.c, nodes: map[string]bool{"sim-1": true}, containers: newStore(),
		startDelay: time.Second, clock: clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	return cr
}

func boundTask(finalizers []string, deleting bool) *v1alpha1.Task {
	t := &v1alpha1.Task{
		ObjectMeta: metav1.ObjectMeta{Name: "t1", Namespace: "team-a", UID: "uid-1", Finalizers: finalizers},
		Spec: v1alpha1.TaskSpec{Framework: "analytics", Offers: []string{"o1"}, NodeName: "sim-1",
			TaskTemplate: v1alpha1.TaskTemplate{Container: v1alpha1.Container{Command: []string{"sleep", "5"}}}},
	}
	if deleting {
		now := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		t.DeletionTimestamp = &now
	}
	return t
}

func TestReconcilerFinalizer(t *testing.T) {
	key := client.ObjectKey{Namespace: "team-a", Name: "t1"}
	tests := []struct {
		name        string
		task        *v1alpha1.Task
		metaPatches int
		states      []v1alpha1.TaskState
		gone        bool
	}{{
		name:   "bound with the finalizer: it is not written again",
		task:   boundTask([]string{v1alpha1.TaskFinalizer}, false),
		states: []v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting},
	}, {
		name:        "bound without it: added before anything starts",
		task:        boundTask(nil, false),
		metaPatches: 1,
		states:      []v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting},
	}, {
		name:        "deleted before it started: final status, then the finalizer is removed",
		task:        boundTask([]string{v1alpha1.TaskFinalizer}, true),
		metaPatches: 1,
		states:      []v1alpha1.TaskState{v1alpha1.TaskKilled},
		gone:        true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			cr := newCountingReconciler(t, tt.task)
			_, err := cr.Reconcile(t.Context(), reconcile.Request{NamespacedName: key})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(cr.metaPatches).To(Equal(tt.metaPatches), "metadata writes")
			g.Expect(cr.statusPatches).To(Equal(tt.states), "status writes")
			var got v1alpha1.Task
			err = cr.c.Get(t.Context(), key, &got)
			if tt.gone {
				g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the task is gone once its finalizer is removed: %v", err)
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got.Finalizers).To(Equal([]string{v1alpha1.TaskFinalizer}))
		})
	}
}
