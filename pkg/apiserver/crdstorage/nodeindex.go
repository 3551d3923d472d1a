package crdstorage

import (
	"context"
	"slices"
	"strings"

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

// NodeIndexed are the custom resources whose watch cache is indexed by the
// node an object is bound to, with that field's path: each agent watches and
// lists the Tasks of its own node (field selector spec.nodeName=NODE), as a
// kubelet does its Pods. Without the index every event of every Task goes
// into the queue of every agent's watch, to be filtered out there: with
// 5,000 agents, 5,000 queue sends and filters for each Task write. With it,
// the cache hands an event to the watches of the node the task is bound to
// (and was bound to, for a move) and to those that select no node, and
// answers an agent's list from the index instead of filtering every Task.
var NodeIndexed = map[schema.GroupResource]string{
	{Group: "meseta.dev", Resource: "tasks"}: "spec.nodeName",
}

// decorateByNode decorates a resource's storage with an index on field (a
// path such as spec.nodeName) both for the watch cache's dispatch (a
// trigger) and for its lists, and returns storage whose watches and lists
// name the field among their predicates' index fields, so that the cache
// uses both: the registry of custom resources names none.
func decorateByNode(decorate generic.StorageDecorator, field string, config *storagebackend.ConfigForResource, prefix string,
	keyFunc func(obj runtime.Object) (string, error), newFunc, newListFunc func() runtime.Object,
	attrs storage.AttrFunc, indexers *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
	path := strings.Split(field, ".")
	value := func(obj runtime.Object) string { return stringAt(obj, path) }
	withIndex := cache.Indexers{}
	if indexers != nil {
		for name, fn := range *indexers {
			withIndex[name] = fn
		}
	}
	withIndex[storage.FieldIndex(field)] = func(obj interface{}) ([]string, error) {
		o, ok := obj.(runtime.Object)
		if !ok {
			return nil, nil
		}
		return []string{value(o)}, nil
	}
	s, destroy, err := decorate(config, prefix, keyFunc, newFunc, newListFunc, attrs, storage.IndexerFuncs{field: value}, &withIndex)
	if err != nil || s == nil {
		return s, destroy, err
	}
	return indexedFields{Interface: s, field: field}, destroy, nil
}

// stringAt returns the string at path in an unstructured object, "" when
// there is none.
func stringAt(obj runtime.Object, path []string) string {
	u, ok := obj.(runtime.Unstructured)
	if !ok {
		return ""
	}
	s, _, _ := unstructured.NestedString(u.UnstructuredContent(), path...)
	return s
}

// indexedFields is storage whose watches and lists name field among the
// index fields of their predicates.
type indexedFields struct {
	storage.Interface
	field string
}

func (s indexedFields) withField(opts storage.ListOptions) storage.ListOptions {
	if !slices.Contains(opts.Predicate.IndexFields, s.field) {
		opts.Predicate.IndexFields = append(slices.Clip(opts.Predicate.IndexFields), s.field)
	}
	return opts
}

// Watch implements storage.Interface.
func (s indexedFields) Watch(ctx context.Context, key string, opts storage.ListOptions) (watch.Interface, error) {
	return s.Interface.Watch(ctx, key, s.withField(opts))
}

// GetList implements storage.Interface.
func (s indexedFields) GetList(ctx context.Context, key string, opts storage.ListOptions, listObj runtime.Object) error {
	return s.Interface.GetList(ctx, key, s.withField(opts), listObj)
}
