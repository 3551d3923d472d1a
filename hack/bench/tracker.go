package main

import (
	"context"
	"sync"
	"time"

	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/sdk"
)

// tracker watches tasks (one informer) and records when each was first seen
// bound to a node and first seen Running.
type tracker struct {
	mu      sync.Mutex
	bound   map[string]time.Time
	running map[string]time.Time
	// lastBound and lastRunning are when the last task was first seen so.
	lastBound, lastRunning time.Time
	changed                chan struct{}
}

// trackTasks starts a tracker of the tasks of namespace ("" for all) until ctx
// ends.
func trackTasks(ctx context.Context, m *master, namespace string) (*tracker, error) {
	opts := cache.Options{Scheme: sdk.Scheme()}
	if namespace != "" {
		opts.DefaultNamespaces = map[string]cache.Config{namespace: {}}
	}
	c, err := cache.New(m.config(), opts)
	if err != nil {
		return nil, err
	}
	inf, err := c.GetInformer(ctx, &v1alpha1.Task{})
	if err != nil {
		return nil, err
	}
	t := &tracker{bound: map[string]time.Time{}, running: map[string]time.Time{}, changed: make(chan struct{}, 1)}
	see := func(obj any) {
		if task, ok := obj.(*v1alpha1.Task); ok {
			t.see(task)
		}
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc: see, UpdateFunc: func(_, obj any) { see(obj) },
	}); err != nil {
		return nil, err
	}
	go func() { _ = c.Start(ctx) }()
	c.WaitForCacheSync(ctx)
	return t, nil
}

func (t *tracker) see(task *v1alpha1.Task) {
	now := time.Now()
	key := client.ObjectKeyFromObject(task).String()
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.bound[key]; !ok && task.Spec.NodeName != "" {
		t.bound[key], t.lastBound = now, now
	}
	if _, ok := t.running[key]; !ok && task.Status.State == v1alpha1.TaskRunning {
		t.running[key], t.lastRunning = now, now
	}
	select {
	case t.changed <- struct{}{}:
	default:
	}
}

// counts returns how many tasks were seen bound and Running, and when the
// last of each was first seen.
func (t *tracker) counts() (bound, running int, lastBound, lastRunning time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.bound), len(t.running), t.lastBound, t.lastRunning
}

// runningAt returns when key was first seen Running.
func (t *tracker) runningAt(key string) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.running[key]
	return at, ok
}

// waitRunning waits until n tasks were seen Running or timeout passes, and
// reports whether they were.
func (t *tracker) waitRunning(ctx context.Context, n int, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		if _, running, _, _ := t.counts(); running >= n {
			return true
		}
		select {
		case <-t.changed:
		case <-deadline:
			return false
		case <-ctx.Done():
			return false
		}
	}
}
