package crdstorage

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/tools/cache"
)

var (
	tasks  = schema.GroupResource{Group: "meseta.dev", Resource: "tasks"}
	offers = schema.GroupResource{Group: "meseta.dev", Resource: "offers"}
)

// decorated is what a recordingGetter's decorator was given.
type decorated struct {
	triggers storage.IndexerFuncs
	indexers *cache.Indexers
	config   *storagebackend.ConfigForResource
}

// recordingGetter returns options whose decorator records the index functions
// it is given and returns a recordingStorage.
type recordingGetter struct {
	got        *decorated
	storage    *recordingStorage
	noDecorate bool
}

func (r recordingGetter) GetRESTOptions(schema.GroupResource, runtime.Object) (generic.RESTOptions, error) {
	if r.noDecorate {
		return generic.RESTOptions{}, nil
	}
	return generic.RESTOptions{Decorator: func(config *storagebackend.ConfigForResource, _ string, _ func(runtime.Object) (string, error),
		_, _ func() runtime.Object, _ storage.AttrFunc, triggers storage.IndexerFuncs, indexers *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
		*r.got = decorated{triggers: triggers, indexers: indexers, config: config}
		return r.storage, func() {}, nil
	}}, nil
}

// recordingStorage records the options of the watches and lists it serves.
type recordingStorage struct {
	storage.Interface
	watched, listed []storage.ListOptions
	// serves is the watch its watches return.
	serves watch.Interface
}

func (s *recordingStorage) Watch(_ context.Context, _ string, opts storage.ListOptions) (watch.Interface, error) {
	s.watched = append(s.watched, opts)
	return s.serves, nil
}

func (s *recordingStorage) GetList(_ context.Context, _ string, opts storage.ListOptions, _ runtime.Object) error {
	s.listed = append(s.listed, opts)
	return nil
}

// decorate decorates resource's storage through g with triggers given.
func decorate(g generic.RESTOptionsGetter, resource schema.GroupResource, triggers storage.IndexerFuncs) storage.Interface {
	opts, _ := g.GetRESTOptions(resource, nil)
	s, _, _ := opts.Decorator(nil, "", nil, nil, nil, nil, triggers, nil)
	return s
}

func TestTuneWatchCachesIndexesByNamespace(t *testing.T) {
	g := NewWithT(t)
	var got decorated
	s := &recordingStorage{}
	out := decorate(TuneWatchCaches(recordingGetter{got: &got, storage: s}), offers, nil)
	g.Expect(got.triggers).To(HaveKey(namespaceTrigger), "a custom resource without an index gets one")
	offer := &unstructured.Unstructured{}
	offer.SetNamespace("team-a")
	g.Expect(got.triggers[namespaceTrigger](offer)).To(Equal("team-a"))
	g.Expect(got.triggers[namespaceTrigger](&unstructured.Unstructured{})).To(BeEmpty(), "an empty object (a bookmark) has no namespace")
	g.Expect(out).To(Equal(untrackedWhenCreated{queuedWatches{s}}), "the storage itself is left as it is, its watches queued, its creates untracked")
}

func TestTuneWatchCachesIndexesTasksByNode(t *testing.T) {
	g := NewWithT(t)
	var got decorated
	s := &recordingStorage{}
	out := decorate(TuneWatchCaches(recordingGetter{got: &got, storage: s}), tasks, nil)

	bound := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"nodeName": "n1"}}}
	g.Expect(got.triggers).To(HaveLen(1))
	g.Expect(got.triggers).To(HaveKey("spec.nodeName"))
	g.Expect(got.triggers["spec.nodeName"](bound)).To(Equal("n1"))
	g.Expect(got.triggers["spec.nodeName"](&unstructured.Unstructured{})).To(BeEmpty(), "an unbound task (or a bookmark) has no node")

	g.Expect(got.indexers).NotTo(BeNil())
	index := (*got.indexers)[storage.FieldIndex("spec.nodeName")]
	g.Expect(index).NotTo(BeNil(), "lists by node are answered from an index")
	g.Expect(index(bound)).To(Equal([]string{"n1"}))

	// The registry of custom resources names no index field: the storage
	// adds it to every watch and list, without changing the caller's slice.
	callers := []string{"metadata.namespace"}
	_, _ = out.Watch(context.Background(), "/tasks/", storage.ListOptions{Predicate: storage.SelectionPredicate{IndexFields: callers[:1:1]}})
	g.Expect(out.GetList(context.Background(), "/tasks/", storage.ListOptions{}, nil)).To(Succeed())
	g.Expect(s.watched).To(HaveLen(1))
	g.Expect(s.watched[0].Predicate.IndexFields).To(Equal([]string{"metadata.namespace", "spec.nodeName"}))
	g.Expect(callers).To(Equal([]string{"metadata.namespace"}))
	g.Expect(s.listed).To(HaveLen(1))
	g.Expect(s.listed[0].Predicate.IndexFields).To(Equal([]string{"spec.nodeName"}))
	_, _ = out.Watch(context.Background(), "/tasks/", storage.ListOptions{Predicate: storage.SelectionPredicate{IndexFields: []string{"spec.nodeName"}}})
	g.Expect(s.watched[1].Predicate.IndexFields).To(Equal([]string{"spec.nodeName"}), "named once")
}

func TestTuneWatchCachesKeepsAnIndexGiven(t *testing.T) {
	for _, resource := range []schema.GroupResource{tasks, offers} {
		t.Run(resource.Resource, func(t *testing.T) {
			g := NewWithT(t)
			var got decorated
			s := &recordingStorage{}
			own := storage.IndexerFuncs{"spec.framework": func(runtime.Object) string { return "f1" }}
			out := decorate(TuneWatchCaches(recordingGetter{got: &got, storage: s}), resource, own)
			g.Expect(got.triggers).To(HaveLen(1))
			g.Expect(got.triggers).To(HaveKey("spec.framework"), "the cache supports one index: one given is kept")
			if StagedWhenBound[resource] {
				g.Expect(out).To(Equal(untrackedWhenCreated{stagedWhenBound{queuedWatches{s}}}))
			} else {
				g.Expect(out).To(Equal(untrackedWhenCreated{queuedWatches{s}}))
			}
		})
	}
}

func TestTuneWatchCachesLeavesOptionsWithoutDecorator(t *testing.T) {
	g := NewWithT(t)
	opts, err := TuneWatchCaches(recordingGetter{noDecorate: true}).GetRESTOptions(schema.GroupResource{}, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(opts.Decorator).To(BeNil())
}
