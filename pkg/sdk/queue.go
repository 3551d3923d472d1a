package sdk

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Queue defaults.
const (
	// DefaultIdleRefuseSeconds is how long a Queue with nothing to launch
	// refuses the offers it declines.
	DefaultIdleRefuseSeconds int32 = 60
	// DefaultMaxLaunchTasks is the most tasks a Queue launches on one node's
	// offers at once: a launch's tasks are created ApplyConcurrency at a time,
	// and the master binds them once all are there, so a larger launch waits
	// for several rounds of creates; under load the master may bind before
	// the last arrive, and drop those. What the launch leaves of the node is
	// offered again at once.
	DefaultMaxLaunchTasks = ApplyConcurrency
	// launchedTTL is how long a Queue skips a task it launched while the
	// framework still asks for it (its cache has not seen the task yet).
	// Under load a create can take most of a minute.
	launchedTTL = 2 * time.Minute
)

// QueueOptions tune a Queue.
type QueueOptions struct {
	// RefuseSeconds is the refuse time of offers declined while tasks wait
	// that did not fit them. Defaults to DefaultRefuseSeconds.
	RefuseSeconds int32
	// IdleRefuseSeconds is the refuse time of offers declined with nothing left
	// to launch; the Queue suppresses offers then, and revives when tasks come.
	// Defaults to DefaultIdleRefuseSeconds.
	IdleRefuseSeconds int32
	// MaxLaunchTasks is the most tasks launched on one node's offers at once
	// (the rest wait for the node's next offer). Defaults to
	// DefaultMaxLaunchTasks; negative for no limit.
	MaxLaunchTasks int
	// OnStatus, when set, is called with every task status update.
	OnStatus func(ctx context.Context, task *v1alpha1.Task)
}

// Queue is a ready-made Scheduler for frameworks that know which tasks they
// want launched: the framework's own controller computes, for each thing it
// runs, the Group of tasks to launch now and hands it to Set; the Queue places
// them on offers (in order, round-robin between groups, keeping each group's
// constraints), declines the offers it cannot use, suppresses offers while it
// has nothing to launch and revives them when tasks come. It forgets a task
// once launched; a task that fails is the framework's to set again (under a
// new name).
type Queue struct {
	opts QueueOptions

	mu       sync.Mutex
	groups   map[string]Group
	launched map[string]time.Time // task names launched, by when
	unplaced map[string]string    // why the group's next task was not placed
	driver   *Driver
	idle     bool // offers suppressed for want of tasks
	clock    clock.WithDelayedExecution
}

// NewQueue returns an empty Queue.
func NewQueue(opts QueueOptions) *Queue {
	if opts.RefuseSeconds == 0 {
		opts.RefuseSeconds = DefaultRefuseSeconds
	}
	if opts.IdleRefuseSeconds == 0 {
		opts.IdleRefuseSeconds = DefaultIdleRefuseSeconds
	}
	if opts.MaxLaunchTasks == 0 {
		opts.MaxLaunchTasks = DefaultMaxLaunchTasks
	}
	return &Queue{opts: opts, clock: clock.RealClock{}, groups: map[string]Group{}, launched: map[string]time.Time{}, unplaced: map[string]string{}}
}

// Set replaces the tasks to launch of the group key; a Group without tasks
// removes it. Tasks launched already are skipped even if still given, until
// the group is set without them.
func (q *Queue) Set(key string, g Group) {
	q.mu.Lock()
	old, had := q.groups[key]
	if len(g.Tasks) == 0 {
		delete(q.groups, key)
		delete(q.unplaced, key)
	} else {
		q.groups[key] = g
	}
	q.forgetLaunched(old, g)
	grew := !had || hasNewTask(old, g)
	d := q.driver
	q.mu.Unlock()
	if d != nil {
		q.updateSuppression(d)
		if grew && len(g.Tasks) > 0 {
			d.Trigger()
		}
	}
}

// Delete removes the group key.
func (q *Queue) Delete(key string) { q.Set(key, Group{}) }

// Waiting returns how many tasks wait to be launched.
func (q *Queue) Waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waitingLocked(q.clock.Now())
}

// Unplaced says why the next task of group key found no node in the last
// round of offers; empty when it was placed or there were no tasks.
func (q *Queue) Unplaced(key string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.unplaced[key]
}

// Registered remembers the driver and asks for offers only if tasks wait.
func (q *Queue) Registered(_ context.Context, d *Driver, _ *v1alpha1.Framework) {
	q.mu.Lock()
	q.driver = d
	q.idle = q.waitingLocked(q.clock.Now()) == 0
	idle := q.idle
	q.mu.Unlock()
	if idle {
		d.Suppress()
	} else {
		d.Revive()
	}
}

// ResourceOffers places the waiting tasks on offers.
func (q *Queue) ResourceOffers(ctx context.Context, d *Driver, offers []v1alpha1.Offer) []Decision {
	q.mu.Lock()
	now := q.clock.Now()
	groups := q.pendingLocked(now)
	res := plan(groups, GroupByNode(offers), q.opts)
	for _, name := range res.launched {
		q.launched[name] = now
	}
	for _, g := range groups {
		if why, ok := res.unplaced[g.key]; ok {
			q.unplaced[g.key] = why
		} else {
			delete(q.unplaced, g.key)
		}
	}
	q.mu.Unlock()
	if len(res.launched) > 0 || res.waiting > 0 {
		log.FromContext(ctx).V(1).Info("Planned launches", "launched", len(res.launched), "waiting", res.waiting, "offers", len(offers))
	}
	q.updateSuppression(d)
	if len(res.launched) > 0 {
		// Launches the framework never sees are forgotten silently after
		// launchedTTL: their tasks wait again, so offers must flow again.
		q.clock.AfterFunc(launchedTTL+time.Second, func() { go q.updateSuppression(d) })
	}
	return res.decisions
}

// StatusUpdate passes the update to OnStatus.
func (q *Queue) StatusUpdate(ctx context.Context, _ *Driver, task *v1alpha1.Task) {
	if q.opts.OnStatus != nil {
		q.opts.OnStatus(ctx, task)
	}
}

// LaunchFailed makes a task whose creation failed wait again.
func (q *Queue) LaunchFailed(_ context.Context, d *Driver, task *v1alpha1.Task, _ error) {
	q.mu.Lock()
	delete(q.launched, task.Name)
	q.mu.Unlock()
	q.updateSuppression(d)
}

// updateSuppression suppresses offers when no task waits and revives them
// when tasks wait after a suppression.
func (q *Queue) updateSuppression(d *Driver) {
	q.mu.Lock()
	waiting := q.waitingLocked(q.clock.Now())
	wasIdle := q.idle
	q.idle = waiting == 0
	q.mu.Unlock()
	switch {
	case waiting == 0 && !wasIdle:
		d.Suppress()
	case waiting > 0 && wasIdle:
		d.Revive()
	}
}

// pendingLocked returns the groups with their launched tasks left out, sorted
// by key; it forgets launches older than launchedTTL.
func (q *Queue) pendingLocked(now time.Time) []keyedGroup {
	q.forgetExpiredLocked(now)
	keys := slices.Sorted(maps.Keys(q.groups))
	out := make([]keyedGroup, 0, len(keys))
	for _, k := range keys {
		g := q.groups[k]
		var tasks []v1alpha1.Task
		for _, t := range g.Tasks {
			if _, ok := q.launched[t.Name]; !ok {
				tasks = append(tasks, t)
			}
		}
		if len(tasks) == 0 {
			continue
		}
		g.Tasks = tasks
		out = append(out, keyedGroup{key: k, Group: g})
	}
	return out
}

// waitingLocked counts the tasks pendingLocked would return, without
// copying them.
func (q *Queue) waitingLocked(now time.Time) int {
	q.forgetExpiredLocked(now)
	n := 0
	for _, g := range q.groups {
		for i := range g.Tasks {
			if _, ok := q.launched[g.Tasks[i].Name]; !ok {
				n++
			}
		}
	}
	return n
}

// forgetExpiredLocked forgets launches older than launchedTTL.
func (q *Queue) forgetExpiredLocked(now time.Time) {
	for name, at := range q.launched {
		if now.Sub(at) > launchedTTL {
			delete(q.launched, name)
		}
	}
}

// forgetLaunched forgets the launches of tasks that old had and g no longer
// has: the framework has seen them.
func (q *Queue) forgetLaunched(old, g Group) {
	keep := map[string]bool{}
	for _, t := range g.Tasks {
		keep[t.Name] = true
	}
	for _, t := range old.Tasks {
		if !keep[t.Name] {
			delete(q.launched, t.Name)
		}
	}
}

// hasNewTask reports whether g has a task old did not.
func hasNewTask(old, g Group) bool {
	had := map[string]bool{}
	for _, t := range old.Tasks {
		had[t.Name] = true
	}
	for _, t := range g.Tasks {
		if !had[t.Name] {
			return true
		}
	}
	return false
}
