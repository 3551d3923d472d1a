package crdstorage

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/tools/cache"
)

// recordingGetter returns options whose decorator records the index functions
// it is given.
type recordingGetter struct {
	got        *storage.IndexerFuncs
	noDecorate bool
}

func (r recordingGetter) GetRESTOptions(schema.GroupResource, runtime.Object) (generic.RESTOptions, error) {
	if r.noDecorate {
		return generic.RESTOptions{}, nil
	}
	return generic.RESTOptions{Decorator: func(_ *storagebackend.ConfigForResource, _ string, _ func(runtime.Object) (string, error),
		_, _ func() runtime.Object, _ storage.AttrFunc, triggers storage.IndexerFuncs, _ *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
		*r.got = triggers
		return nil, func() {}, nil
	}}, nil
}

func decorate(g generic.RESTOptionsGetter, triggers storage.IndexerFuncs) {
	opts, _ := g.GetRESTOptions(schema.GroupResource{Group: "meseta.dev", Resource: "tasks"}, nil)
	_, _, _ = opts.Decorator(nil, "", nil, nil, nil, nil, triggers, nil)
}

func TestDeepWatchQueuesIndexesByNamespace(t *testing.T) {
	g := NewWithT(t)
	var got storage.IndexerFuncs
	decorate(DeepWatchQueues(recordingGetter{got: &got}), nil)
	g.Expect(got).To(HaveKey(namespaceTrigger), "a custom resource without an index gets one")
	task := &unstructured.Unstructured{}
	task.SetNamespace("team-a")
	g.Expect(got[namespaceTrigger](task)).To(Equal("team-a"))
	g.Expect(got[namespaceTrigger](&unstructured.Unstructured{})).To(BeEmpty(), "an empty object (a bookmark) has no namespace")
}

func TestDeepWatchQueuesKeepsAnIndexGiven(t *testing.T) {
	g := NewWithT(t)
	var got storage.IndexerFuncs
	own := storage.IndexerFuncs{"spec.nodeName": func(runtime.Object) string { return "n1" }}
	decorate(DeepWatchQueues(recordingGetter{got: &got}), own)
	g.Expect(got).To(HaveLen(1))
	g.Expect(got).To(HaveKey("spec.nodeName"), "the cache supports one index: one given is kept")
}

func TestDeepWatchQueuesLeavesOptionsWithoutDecorator(t *testing.T) {
	g := NewWithT(t)
	opts, err := DeepWatchQueues(recordingGetter{noDecorate: true}).GetRESTOptions(schema.GroupResource{}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(opts.Decorator).To(BeNil())
}
