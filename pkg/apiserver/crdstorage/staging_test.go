package crdstorage

import (
	"context"
	"errors"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/storage"

	"meseta.dev/meseta/apis/v1alpha1"
)

// updatingStorage runs one GuaranteedUpdate's tryUpdate on current and keeps
// what it returns.
type updatingStorage struct {
	storage.Interface
	current, stored runtime.Object
}

func (s *updatingStorage) GuaranteedUpdate(_ context.Context, _ string, _ runtime.Object, _ bool,
	_ *storage.Preconditions, tryUpdate storage.UpdateFunc, _ runtime.Object) error {
	out, _, err := tryUpdate(s.current, storage.ResponseMeta{})
	if err == nil {
		s.stored = out
	}
	return err
}

// task is an unstructured Task bound to node (none when empty) in state.
func task(node string, state v1alpha1.TaskState) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"framework": "fw"}}}
	if node != "" {
		_ = unstructured.SetNestedField(u.Object, node, nodeNamePath...)
	}
	if state != "" {
		_ = unstructured.SetNestedField(u.Object, string(state), statePath...)
	}
	return u
}

func TestBindingStagesATask(t *testing.T) {
	tests := []struct {
		name      string
		was, next *unstructured.Unstructured
		want      v1alpha1.TaskState
		message   string
	}{
		{"a bind stages the task", task("", ""), task("n1", ""), v1alpha1.TaskStaging, v1alpha1.StagingMessage},
		{"a task with no status gets one", task("", ""), func() *unstructured.Unstructured {
			u := task("n1", "")
			delete(u.Object, "status")
			return u
		}(), v1alpha1.TaskStaging, v1alpha1.StagingMessage},
		{"a state the write brings is kept", task("", ""), task("n1", v1alpha1.TaskDropped), v1alpha1.TaskDropped, ""},
		{"a write of a bound task is not a bind", task("n1", ""), task("n1", ""), "", ""},
		{"a status write of a bound task is left alone", task("n1", v1alpha1.TaskStaging), task("n1", v1alpha1.TaskStarting), v1alpha1.TaskStarting, ""},
		{"a write that does not bind is left alone", task("", ""), task("", v1alpha1.TaskDropped), v1alpha1.TaskDropped, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := &updatingStorage{current: tt.was}
			err := stagedWhenBound{s}.GuaranteedUpdate(context.Background(), "/tasks/ns/t", nil, false, nil,
				func(runtime.Object, storage.ResponseMeta) (runtime.Object, *uint64, error) { return tt.next, nil, nil }, nil)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(stringAt(s.stored, statePath)).To(Equal(string(tt.want)))
			g.Expect(stringAt(s.stored, messagePath)).To(Equal(tt.message))
		})
	}
}

func TestBindingThatFailsStagesNothing(t *testing.T) {
	g := NewWithT(t)
	refused := errors.New("refused by admission")
	next := task("n1", "")
	s := &updatingStorage{current: task("", "")}
	err := stagedWhenBound{s}.GuaranteedUpdate(context.Background(), "/tasks/ns/t", nil, false, nil,
		func(runtime.Object, storage.ResponseMeta) (runtime.Object, *uint64, error) { return next, nil, refused }, nil)
	g.Expect(err).To(MatchError(refused))
	g.Expect(s.stored).To(BeNil())
	g.Expect(stringAt(next, statePath)).To(BeEmpty())
}

func TestBindingLeavesTheStatusItWasGivenAlone(t *testing.T) {
	g := NewWithT(t)
	// An update keeps the replaced object's status: the new object holds the
	// very map the old one does.
	was := task("", "")
	kept := map[string]any{"message": "waiting for its offers"}
	was.Object["status"] = kept
	next := task("n1", "")
	next.Object["status"] = kept
	s := &updatingStorage{current: was}
	err := stagedWhenBound{s}.GuaranteedUpdate(context.Background(), "/tasks/ns/t", nil, false, nil,
		func(runtime.Object, storage.ResponseMeta) (runtime.Object, *uint64, error) { return next, nil, nil }, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stringAt(s.stored, statePath)).To(Equal(string(v1alpha1.TaskStaging)))
	g.Expect(kept).To(Equal(map[string]any{"message": "waiting for its offers"}), "the old object's status is unchanged")
}
