package crdstorage

import (
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"
	"k8s.io/client-go/tools/cache"
)

// namespaceTrigger is the name of the watch cache index that TuneWatchCaches
// gives custom resources without a field index of their own.
const namespaceTrigger = "metadata.namespace"

// TuneWatchCaches returns getter with a storage decorator that gives the
// watch cache of every custom resource an index: Tasks by node
// (spec.nodeName, see NodeIndexed), every other resource that has none by
// namespace; it queues each watch's events beside the cache's queue (see
// queuedWatches); it makes a Task's binding write its Staging state (see
// StagedWhenBound); and it stores Offers and Tasks without managedFields
// unless a server-side apply creates them (UntrackedWhenCreated). Its codec
// decodes each object it writes once for the write and the watch cache (see
// decodedOnce).
//
// The namespace index serves no watch (no custom resource's selector names
// it); what it changes is how many events a watcher may have waiting in the
// cache. The watch cache sizes a watcher's queue, when the watch starts, at
// about one second of the events it keeps (its history divided by 75
// seconds), at least 10, and at most 100 events for a resource without an
// index or 1,000 for one with. A watcher whose queue is full when an event
// comes is closed once the cache's short wait budget is spent; its client
// watches again from where it was, which replays every event since, decoded,
// copied and encoded again. The history is short on a quiet cluster, so a
// watch started then has a queue of 10 whatever the index: queuedWatches
// gives every watch a queue of its own beside it.
func TuneWatchCaches(getter generic.RESTOptionsGetter) generic.RESTOptionsGetter {
	return tunedWatchCaches{getter}
}

type tunedWatchCaches struct {
	generic.RESTOptionsGetter
}

// GetRESTOptions returns the custom resource's options, with a storage
// decorator that adds its index when it has none.
func (g tunedWatchCaches) GetRESTOptions(resource schema.GroupResource, example runtime.Object) (generic.RESTOptions, error) {
	opts, err := g.RESTOptionsGetter.GetRESTOptions(resource, example)
	if err != nil || opts.Decorator == nil {
		return opts, err
	}
	decorate := opts.Decorator
	field, byNode := NodeIndexed[resource]
	opts.Decorator = func(config *storagebackend.ConfigForResource, prefix string,
		keyFunc func(obj runtime.Object) (string, error), newFunc, newListFunc func() runtime.Object,
		attrs storage.AttrFunc, triggers storage.IndexerFuncs, indexers *cache.Indexers) (storage.Interface, factory.DestroyFunc, error) {
		var s storage.Interface
		var destroy factory.DestroyFunc
		var err error
		if config != nil {
			decoded := *config
			decoded.Codec = decodeOnce(config.Codec)
			config = &decoded
		}
		switch {
		case len(triggers) != 0:
			s, destroy, err = decorate(config, prefix, keyFunc, newFunc, newListFunc, attrs, triggers, indexers)
		case byNode:
			s, destroy, err = decorateByNode(decorate, field, config, prefix, keyFunc, newFunc, newListFunc, attrs, indexers)
		default:
			triggers = storage.IndexerFuncs{namespaceTrigger: namespaceOf}
			s, destroy, err = decorate(config, prefix, keyFunc, newFunc, newListFunc, attrs, triggers, indexers)
		}
		if err != nil || s == nil {
			return s, destroy, err
		}
		s = queuedWatches{s}
		if StagedWhenBound[resource] {
			s = stagedWhenBound{s}
		}
		if UntrackedWhenCreated[resource] {
			s = untrackedWhenCreated{s}
		}
		return s, destroy, err
	}
	return opts, nil
}

// namespaceOf returns obj's namespace, "" when it has none.
func namespaceOf(obj runtime.Object) string {
	m, err := meta.Accessor(obj)
	if err != nil {
		return ""
	}
	return m.GetNamespace()
}
