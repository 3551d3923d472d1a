package crdstorage

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/storage"
)

// creatingStorage keeps the object of the last Create.
type creatingStorage struct {
	storage.Interface
	created runtime.Object
}

func (s *creatingStorage) Create(_ context.Context, _ string, obj, _ runtime.Object, _ uint64) error {
	s.created = obj
	return nil
}

// tracked returns an object as the API server hands it to storage on a
// create by op (an update, or a server-side apply): with its creator's
// managedFields.
func tracked(name string, op metav1.ManagedFieldsOperationType) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"framework": "fw", "nodeName": "n1"}}}
	u.SetName(name)
	u.SetManagedFields([]metav1.ManagedFieldsEntry{{Manager: "creator", Operation: op,
		APIVersion: "meseta.dev/v1alpha1", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:framework":{},"f:nodeName":{}}}`)}}})
	return u
}

func TestOffersAndTasksAreStoredWithoutManagedFields(t *testing.T) {
	apps := schema.GroupResource{Group: "meseta.dev", Resource: "apps"}
	update, apply := metav1.ManagedFieldsOperationUpdate, metav1.ManagedFieldsOperationApply
	for _, tc := range []struct {
		resource schema.GroupResource
		op       metav1.ManagedFieldsOperationType
		kept     int
	}{
		{resource: offers, op: update, kept: 0},
		{resource: tasks, op: update, kept: 0},
		{resource: tasks, op: apply, kept: 1},
		{resource: apps, op: update, kept: 1},
	} {
		t.Run(tc.resource.Resource+" created by "+string(tc.op), func(t *testing.T) {
			g := NewWithT(t)
			s := &creatingStorage{}
			var got decorated
			out := decorate(TuneWatchCaches(recordingGetter{got: &got, storage: &recordingStorage{Interface: s}}), tc.resource, nil)
			g.Expect(out.Create(context.Background(), "/"+tc.resource.Resource+"/team-a/o1", tracked("o1", tc.op), &unstructured.Unstructured{}, 0)).To(Succeed())
			stored := s.created.(*unstructured.Unstructured)
			g.Expect(stored.GetManagedFields()).To(HaveLen(tc.kept), "offers and tasks lose them unless applied, other resources keep them")
			g.Expect(stored.Object).To(HaveKeyWithValue("spec", map[string]any{"framework": "fw", "nodeName": "n1"}), "the rest is kept")
			g.Expect(stored.GetName()).To(Equal("o1"))
		})
	}
}
