package tasks

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Notifier carries the supervisor's requests for reconciles to the controller.
type Notifier struct {
	ch   chan event.GenericEvent
	done <-chan struct{}
}

// NewNotifier returns a notifier whose Notify gives up once done is closed.
func NewNotifier(done <-chan struct{}) *Notifier {
	return &Notifier{ch: make(chan event.GenericEvent, 1024), done: done}
}

// Notify asks for the task key to be reconciled.
func (n *Notifier) Notify(key types.NamespacedName) {
	ev := event.GenericEvent{Object: &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}}
	select {
	case n.ch <- ev:
	case <-n.done:
	}
}

// SetupWithManager registers the task controller with mgr, whose cache must
// hold only the Tasks bound to r.Node. Tasks are reconciled on their own
// changes and on the notifier's requests (container exits, health results).
func (r *Reconciler) SetupWithManager(mgr manager.Manager, n *Notifier, maxConcurrent int) error {
	return builder.ControllerManagedBy(mgr).
		Named("task").
		For(&v1alpha1.Task{}).
		WatchesRawSource(source.Channel(n.ch, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: maxConcurrent, SkipNameValidation: ptr(true)}).
		Complete(r)
}

// Resync asks, once the manager's cache is synced, for every task the
// supervisor knows (adopted containers included) to be reconciled, so that
// tasks deleted while the agent was down are found.
func Resync(mgr manager.Manager, s *Supervisor) manager.Runnable {
	return manager.RunnableFunc(func(ctx context.Context) error {
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return nil
		}
		s.NotifyAll()
		return nil
	})
}
