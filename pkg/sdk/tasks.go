package sdk

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

// taskSnapshot is what of a task a StatusUpdate is about; a new one is
// delivered whenever it changes.
type taskSnapshot struct {
	uid      types.UID
	node     string
	deleting bool
	state    v1alpha1.TaskState
	reason   v1alpha1.TaskReason
	message  string
	exitCode int32
	signal   int32
	healthy  int8 // -1 unhealthy, 0 unknown, 1 healthy
}

// snapshotOf returns the snapshot of t.
func snapshotOf(t *v1alpha1.Task) taskSnapshot {
	s := taskSnapshot{
		uid:      t.UID,
		node:     t.Spec.NodeName,
		deleting: t.DeletionTimestamp != nil,
		state:    t.Status.State,
		reason:   t.Status.Reason,
		message:  t.Status.Message,
		exitCode: ptr.Deref(t.Status.ExitCode, -1),
		signal:   ptr.Deref(t.Status.Signal, -1),
	}
	if t.Status.Healthy != nil {
		s.healthy = -1
		if *t.Status.Healthy {
			s.healthy = 1
		}
	}
	return s
}

// deliverStatus calls StatusUpdate for each task whose snapshot changed, or for
// every task when a reconciliation is due, and TaskRemoved for tasks that went.
func (d *Driver) deliverStatus(ctx context.Context) error {
	d.mu.Lock()
	dirty, all := d.dirty, d.reconcile
	d.dirty, d.reconcile = map[string]struct{}{}, false
	d.mu.Unlock()

	if all {
		return d.reconcileAll(ctx)
	}
	names := make([]string, 0, len(dirty))
	for n := range dirty {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		t := &v1alpha1.Task{}
		err := d.cache.Get(ctx, client.ObjectKey{Namespace: d.fw.Namespace, Name: name}, t)
		switch {
		case apierrors.IsNotFound(err):
			d.removed(ctx, name)
		case err != nil:
			d.requeueTasks(names)
			return fmt.Errorf("failed to read task %s: %w", name, err)
		case t.Spec.Framework == d.fw.Name:
			d.deliver(ctx, t, false)
		}
	}
	return nil
}

// reconcileAll delivers the status of every task of the framework, read from
// the API server, and TaskRemoved for those known that are gone.
func (d *Driver) reconcileAll(ctx context.Context) error {
	list := &v1alpha1.TaskList{}
	if err := d.reader.List(ctx, list, client.InNamespace(d.fw.Namespace)); err != nil {
		d.mu.Lock()
		d.reconcile = true
		d.mu.Unlock()
		return fmt.Errorf("failed to list tasks: %w", err)
	}
	seen := map[string]bool{}
	for i := range list.Items {
		t := &list.Items[i]
		if t.Spec.Framework != d.fw.Name {
			continue
		}
		seen[t.Name] = true
		d.deliver(ctx, t, true)
	}
	var gone []string
	for name := range d.known {
		if !seen[name] {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	for _, name := range gone {
		d.removed(ctx, name)
	}
	return nil
}

// deliver calls StatusUpdate for t if its snapshot changed, or always when
// force is set.
func (d *Driver) deliver(ctx context.Context, t *v1alpha1.Task, force bool) {
	delete(d.created, t.Name)
	s := snapshotOf(t)
	if prev, ok := d.delivered[t.Name]; ok && prev == s && !force {
		return
	}
	if prev, ok := d.known[t.Name]; ok && prev.UID == t.UID && olderThan(t, prev) {
		return // a stale read; the newer state was delivered already
	}
	d.delivered[t.Name] = s
	d.known[t.Name] = t.DeepCopy()
	d.sched.StatusUpdate(ctx, d, t.DeepCopy())
}

// removed forgets a task that is gone and tells the scheduler.
func (d *Driver) removed(ctx context.Context, name string) {
	delete(d.created, name)
	last, ok := d.known[name]
	if !ok {
		return
	}
	delete(d.known, name)
	delete(d.delivered, name)
	if h, ok := d.sched.(TaskRemovedHandler); ok {
		h.TaskRemoved(ctx, d, last)
	}
}

// requeueTasks marks names dirty again after a failed pass.
func (d *Driver) requeueTasks(names []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range names {
		d.dirty[n] = struct{}{}
	}
}

// olderThan reports whether a is an older version of the same task than b:
// it went back from a terminal state, or lost its node.
func olderThan(a, b *v1alpha1.Task) bool {
	return (b.IsTerminal() && !a.IsTerminal()) || (b.Spec.NodeName != "" && a.Spec.NodeName == "")
}
