package sdk

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

// informerOnly is a cache that has only a Task informer; the index needs no
// more of it.
type informerOnly struct {
	cache.Cache
	inf toolscache.SharedIndexInformer
}

func (c informerOnly) GetInformer(context.Context, client.Object, ...cache.InformerGetOption) (cache.Informer, error) {
	return c.inf, nil
}

func ownedTask(ns, name, framework, owner string) *v1alpha1.Task {
	t := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	t.Spec.Framework = framework
	if owner != "" {
		t.Annotations = map[string]string{"meseta.dev/job": owner}
	}
	return t
}

func TestTaskIndex(t *testing.T) {
	g := NewWithT(t)
	inf := toolscache.NewSharedIndexInformer(&toolscache.ListWatch{}, &v1alpha1.Task{}, 0, toolscache.Indexers{})
	owned, err := IndexOwnedTasks(context.Background(), informerOnly{inf: inf}, "jobs", "meseta.dev/job")
	g.Expect(err).NotTo(HaveOccurred())
	byFramework, err := IndexFrameworkTasks(context.Background(), informerOnly{inf: inf})
	g.Expect(err).NotTo(HaveOccurred())

	mine := ownedTask("ns", "batch-0-0", "jobs", "batch")
	store := inf.GetStore()
	for _, task := range []*v1alpha1.Task{
		mine,
		ownedTask("ns", "batch-1-0", "jobs", "batch"),
		ownedTask("ns", "other-0-0", "jobs", "other"),        // another owner
		ownedTask("ns", "foreign", "apps", "batch"),          // another framework
		ownedTask("ns", "plain", "jobs", ""),                 // no owner
		ownedTask("elsewhere", "batch-0-0", "jobs", "batch"), // another namespace
	} {
		g.Expect(store.Add(task)).To(Succeed())
	}

	got, err := owned.List(types.NamespacedName{Namespace: "ns", Name: "batch"})
	g.Expect(err).NotTo(HaveOccurred())
	names := []string{}
	for _, task := range got {
		names = append(names, task.Name)
	}
	g.Expect(names).To(ConsistOf("batch-0-0", "batch-1-0"))
	g.Expect(got).To(ContainElement(BeIdenticalTo(mine)), "the cache's own object, not a copy")

	got, err = byFramework.List(types.NamespacedName{Namespace: "ns", Name: "jobs"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(HaveLen(4), "the jobs framework's tasks in ns, owned or not")

	// A task whose annotation changes moves to its new owner.
	moved := mine.DeepCopy()
	moved.Annotations["meseta.dev/job"] = "other"
	g.Expect(store.Update(moved)).To(Succeed())
	got, err = owned.List(types.NamespacedName{Namespace: "ns", Name: "other"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got).To(HaveLen(2))

	g.Expect(owned.List(types.NamespacedName{Namespace: "ns", Name: "none"})).To(BeEmpty())
}
