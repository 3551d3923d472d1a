package simulate

import (
	"context"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
)

// nodeTasks holds, for each of the fleet's nodes, the watch of the Tasks
// bound to it (field selector spec.nodeName=NODE) that node's agent holds,
// listed and watched as that agent (asNode): the master serves the fleet as
// many watches as it would serve real agents, each handed its node's events
// only. It is the reconciler's source of events (Start) and its reader of
// tasks (Get).
type nodeTasks struct {
	informers map[string]toolscache.SharedIndexInformer
	// nodeOf maps each task's key to the node whose watch holds it.
	nodeOf sync.Map
}

// newNodeTasks returns the watches of nodes' tasks through rc, whose
// requests are made as the node their context names (withNodeIdentities) or
// as rc's own user.
func newNodeTasks(rc *rest.Config, scheme *apiruntime.Scheme, nodes []string) (*nodeTasks, error) {
	rc = rest.CopyConfig(rc)
	rc.APIPath = "/apis"
	rc.GroupVersion = &v1alpha1.GroupVersion
	rc.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	tasksClient, err := rest.RESTClientFor(rc)
	if err != nil {
		return nil, fmt.Errorf("failed to create the simulation's task client: %w", err)
	}
	t := &nodeTasks{informers: make(map[string]toolscache.SharedIndexInformer, len(nodes))}
	for _, node := range nodes {
		selector := fields.OneTermEqualSelector("spec.nodeName", node).String()
		lw := toolscache.NewFilteredListWatchFromClient(tasksClient, "tasks", metav1.NamespaceAll, func(o *metav1.ListOptions) {
			o.FieldSelector = selector
		})
		inf := toolscache.NewSharedIndexInformer(lw, &v1alpha1.Task{}, 0, toolscache.Indexers{})
		if err := inf.SetTransform(cache.TransformStripManagedFields()); err != nil {
			return nil, err
		}
		t.informers[node] = inf
	}
	return t, nil
}

// run runs every node's watch, each listing and watching as its node, until
// ctx ends.
func (t *nodeTasks) run(ctx context.Context) {
	for node, inf := range t.informers {
		go inf.RunWithContext(asNode(ctx, node))
	}
}

// Start implements source.Source: every event of a node's task records
// whether that node's watch holds the task and queues the task's key.
func (t *nodeTasks) Start(ctx context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	for node, inf := range t.informers {
		_, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { t.record(node, obj, true, queue) },
			UpdateFunc: func(_, obj any) { t.record(node, obj, true, queue) },
			DeleteFunc: func(obj any) { t.record(node, obj, false, queue) },
		})
		if err != nil {
			return fmt.Errorf("node %s: %w", node, err)
		}
	}
	return nil
}

// record notes that node's watch holds the task obj, or, when it is gone
// from it, forgets that (unless a task of the same name is on another
// node's watch now), and queues the task.
func (t *nodeTasks) record(node string, obj any, held bool, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if tomb, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	task, ok := obj.(*v1alpha1.Task)
	if !ok {
		return
	}
	key := client.ObjectKeyFromObject(task)
	if held {
		t.nodeOf.Store(key, node)
	} else {
		t.nodeOf.CompareAndDelete(key, node)
	}
	queue.Add(reconcile.Request{NamespacedName: key})
}

// WaitForSync implements source.SyncingSource: it returns once every node's
// watch has listed its tasks.
func (t *nodeTasks) WaitForSync(ctx context.Context) error {
	for node, inf := range t.informers {
		if !toolscache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
			return fmt.Errorf("the watch of node %s's tasks did not sync: %w", node, context.Cause(ctx))
		}
	}
	return nil
}

// Get reads the task key from the watch of the node that holds it into obj,
// a *v1alpha1.Task; it is NotFound when no node's watch holds it.
func (t *nodeTasks) Get(_ context.Context, key types.NamespacedName, obj client.Object, _ ...client.GetOption) error {
	out, ok := obj.(*v1alpha1.Task)
	if !ok {
		return fmt.Errorf("the simulation's watches hold tasks, not %T", obj)
	}
	notFound := apierrors.NewNotFound(v1alpha1.GroupVersion.WithResource("tasks").GroupResource(), key.Name)
	node, ok := t.nodeOf.Load(key)
	if !ok {
		return notFound
	}
	item, exists, err := t.informers[node.(string)].GetStore().GetByKey(key.String())
	if err != nil {
		return err
	}
	task, ok := item.(*v1alpha1.Task)
	if !exists || !ok {
		return notFound
	}
	task.DeepCopyInto(out)
	return nil
}
