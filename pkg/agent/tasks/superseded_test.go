package tasks

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/apis/v1alpha1"
)

func taskAt(uid types.UID, rv string) *v1alpha1.Task {
	return &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "t", UID: uid, ResourceVersion: rv}}
}

func TestSupersededTellsCopiesTheAgentWroteOver(t *testing.T) {
	var s Superseded
	if s.Stale(taskAt("a", "1")) {
		t.Fatal("a task the agent never wrote is not stale")
	}
	s.Replaced(taskAt("a", "1")) // finalizer: 1 -> 2
	s.Replaced(taskAt("a", "2")) // status:    2 -> 3
	for _, rv := range []string{"1", "2"} {
		if !s.Stale(taskAt("a", rv)) {
			t.Errorf("version %s, which the agent wrote over, is not stale", rv)
		}
	}
	if s.Stale(taskAt("a", "3")) {
		t.Error("the version the agent wrote is stale")
	}
	if s.Len() != 0 {
		t.Errorf("after a newer copy, %d tasks are remembered, want 0", s.Len())
	}
	if s.Stale(taskAt("a", "1")) {
		t.Error("versions are remembered after a newer copy was read")
	}
}

func TestSupersededTellsTasksApartByUID(t *testing.T) {
	var s Superseded
	s.Replaced(taskAt("old", "7"))
	if s.Stale(taskAt("new", "7")) {
		t.Error("a new task under the same name is stale")
	}
	s.Replaced(taskAt("old", "8"))
	s.Forget(types.NamespacedName{Namespace: "ns", Name: "t"})
	if s.Stale(taskAt("old", "8")) || s.Len() != 0 {
		t.Error("a forgotten task is still remembered")
	}
	s.Replaced(taskAt("a", ""))
	if s.Len() != 0 {
		t.Error("a task without a version is remembered")
	}
}
