package sdk

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"meseta.dev/meseta/apis/v1alpha1"
)

// TaskIndex finds tasks in a manager's cache by a key of namespace and name
// (the owner a framework names in an annotation, or the framework itself). It
// reads the informer's index directly, so a lookup costs only the tasks found,
// not the namespace's, and copies none.
type TaskIndex struct {
	indexer toolscache.Indexer
	name    string
}

// IndexTasks adds an index called name to the cache's Task informer; keyOf
// says under which key a task is found, false for none. Call it before the
// cache starts.
func IndexTasks(ctx context.Context, c cache.Cache, name string, keyOf func(*v1alpha1.Task) (types.NamespacedName, bool)) (*TaskIndex, error) {
	inf, err := c.GetInformer(ctx, &v1alpha1.Task{})
	if err != nil {
		return nil, fmt.Errorf("failed to get the task informer: %w", err)
	}
	withIndexer, ok := inf.(interface{ GetIndexer() toolscache.Indexer })
	if !ok {
		return nil, fmt.Errorf("the cache's task informer (%T) has no indexer to look tasks up by %s", inf, name)
	}
	err = inf.AddIndexers(toolscache.Indexers{name: func(obj any) ([]string, error) {
		t, ok := obj.(*v1alpha1.Task)
		if !ok {
			return nil, nil
		}
		key, ok := keyOf(t)
		if !ok {
			return nil, nil
		}
		return []string{indexKey(key)}, nil
	}})
	if err != nil {
		return nil, fmt.Errorf("failed to index tasks by %s: %w", name, err)
	}
	return &TaskIndex{indexer: withIndexer.GetIndexer(), name: name}, nil
}

// IndexOwnedTasks indexes the tasks of framework by the owner named in their
// annotation (an App or a Job), in their namespace.
func IndexOwnedTasks(ctx context.Context, c cache.Cache, framework, annotation string) (*TaskIndex, error) {
	return IndexTasks(ctx, c, "meseta.dev/owned-tasks:"+framework+":"+annotation, func(t *v1alpha1.Task) (types.NamespacedName, bool) {
		owner := t.Annotations[annotation]
		return types.NamespacedName{Namespace: t.Namespace, Name: owner}, t.Spec.Framework == framework && owner != ""
	})
}

// IndexFrameworkTasks indexes tasks by their framework, in their namespace.
func IndexFrameworkTasks(ctx context.Context, c cache.Cache) (*TaskIndex, error) {
	return IndexTasks(ctx, c, "meseta.dev/framework-tasks", func(t *v1alpha1.Task) (types.NamespacedName, bool) {
		return types.NamespacedName{Namespace: t.Namespace, Name: t.Spec.Framework}, true
	})
}

// List returns the tasks found under key. They are the cache's own objects:
// read them and delete them, never change them.
func (i *TaskIndex) List(key types.NamespacedName) ([]*v1alpha1.Task, error) {
	objs, err := i.indexer.ByIndex(i.name, indexKey(key))
	if err != nil {
		return nil, fmt.Errorf("failed to look up tasks by %s: %w", i.name, err)
	}
	out := make([]*v1alpha1.Task, 0, len(objs))
	for _, obj := range objs {
		if t, ok := obj.(*v1alpha1.Task); ok {
			out = append(out, t)
		}
	}
	return out, nil
}

func indexKey(key types.NamespacedName) string { return key.Namespace + "/" + key.Name }
