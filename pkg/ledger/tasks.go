package ledger

import (
	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/resources"
)

// AdmitTask records a task placed on a node without offers, if it fits in
// what the node has left; otherwise it returns an error wrapping ErrOvercommit
// (or ErrUnknownNode) and records nothing. A task already recorded is
// admitted again without a check.
func (l *Ledger) AdmitTask(t Task) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.tasks[t.Key]; ok {
		return nil
	}
	if err := l.node(t.Node).committedFit(t.Resources); err != nil {
		return err
	}
	l.addTask(t)
	return nil
}

// ObserveTask records a task that the API shows holding resources, unless it
// is recorded already or known to be terminal; it reports whether it recorded
// it. Nothing is refused: the task exists.
func (l *Ledger) ObserveTask(t Task) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.tasks[t.Key]; ok {
		return false
	}
	if _, final := l.final[t.UID]; final && t.UID != "" {
		return false
	}
	l.addTask(t)
	return true
}

func (l *Ledger) addTask(t Task) {
	tc := t
	l.tasks[t.Key] = &tc
	n := l.node(t.Node)
	n.allocated = n.allocated.Add(t.Resources)
	if n.tasks == nil {
		n.tasks = map[Key]struct{}{}
	}
	n.tasks[t.Key] = struct{}{}
	u := l.usage(t.Framework)
	u.Allocated = u.Allocated.Add(scalars(t.Resources))
	u.Tasks++
}

// RemoveTask removes a task that no longer holds resources: terminal, gone, or
// never bound. A non-empty uid must match the recorded task's. When final is
// true the uid is remembered as terminal, so ObserveTask does not record it
// again from an older copy. It reports whether a task was removed.
func (l *Ledger) RemoveTask(key Key, uid types.UID, final bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if final && uid != "" {
		l.final[uid] = struct{}{}
	}
	t, ok := l.tasks[key]
	if !ok || (uid != "" && t.UID != "" && t.UID != uid) {
		return false
	}
	delete(l.tasks, key)
	n := l.node(t.Node)
	delete(n.tasks, key)
	n.allocated = n.allocated.Sub(t.Resources)
	if !n.allocated.Ports.IsEmpty() {
		n.allocated.Ports = nil
		for k := range n.tasks {
			n.allocated.Ports = n.allocated.Ports.Union(l.tasks[k].Resources.Ports)
		}
	}
	if u := l.fws[t.Framework]; u != nil {
		u.Allocated = u.Allocated.Sub(scalars(t.Resources))
		u.Tasks--
		l.pruneUsage(t.Framework, u)
	}
	if !n.known && len(n.tasks) == 0 && len(n.offers) == 0 && n.seq == 0 {
		delete(l.nodes, n.name)
	}
	return true
}

// ForgetFinal forgets that a task UID was terminal, once its object is gone.
func (l *Ledger) ForgetFinal(uid types.UID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.final, uid)
}

// Task returns the recorded task with the key.
func (l *Ledger) Task(key Key) (Task, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.tasks[key]
	if !ok {
		return Task{}, false
	}
	return *t, true
}

// Tasks returns every recorded task.
func (l *Ledger) Tasks() []Task {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Task, 0, len(l.tasks))
	for _, t := range l.tasks {
		out = append(out, *t)
	}
	return out
}

func (l *Ledger) pruneUsage(fw Key, u *Usage) {
	if u.Tasks == 0 && u.Offers == 0 {
		delete(l.fws, fw)
	}
}

// scalars returns v without its ports: a framework's usage spans nodes, where
// port numbers mean nothing together.
func scalars(v resources.Vector) resources.Vector {
	v.Ports = nil
	return v
}
