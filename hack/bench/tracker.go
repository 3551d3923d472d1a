package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
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
	created map[string]time.Time
	bound   map[string]time.Time
	running map[string]time.Time
	// lastBound and lastRunning are when the last task was first seen so.
	lastBound, lastRunning time.Time
	changed                chan struct{}
	// dropped counts the tasks that ended Dropped or Error, by reason, and
	// keeps a few of their messages: why a framework had to launch again.
	dropped      map[string]int
	droppedSeen  map[string]bool
	dropMessages []string
}

// maxDropMessages is how many messages of dropped tasks a tracker keeps.
const maxDropMessages = 5

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
	t := &tracker{
		created: map[string]time.Time{}, bound: map[string]time.Time{}, running: map[string]time.Time{},
		changed: make(chan struct{}, 1), dropped: map[string]int{}, droppedSeen: map[string]bool{},
	}
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
	if _, ok := t.created[key]; !ok {
		t.created[key] = now
	}
	if _, ok := t.bound[key]; !ok && task.Spec.NodeName != "" {
		t.bound[key], t.lastBound = now, now
	}
	if _, ok := t.running[key]; !ok && task.Status.State == v1alpha1.TaskRunning {
		t.running[key], t.lastRunning = now, now
	}
	if s := task.Status.State; s == v1alpha1.TaskDropped || s == v1alpha1.TaskError {
		if _, seen := t.droppedSeen[key]; !seen {
			t.droppedSeen[key] = true
			t.dropped[string(s)+"/"+string(task.Status.Reason)]++
			if len(t.dropMessages) < maxDropMessages {
				t.dropMessages = append(t.dropMessages, task.Name+": "+task.Status.Message)
			}
		}
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

// timeline returns, for each second since start until the last task ran, how
// many tasks had been seen created, bound and Running by then: where a launch
// spends its time.
func (t *tracker) timeline(start time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	seconds := int(t.lastRunning.Sub(start)/time.Second) + 1
	perSecond := func(m map[string]time.Time) []int {
		n := make([]int, max(seconds, 1))
		for _, at := range m {
			if i := int(at.Sub(start) / time.Second); i >= 0 && i < len(n) {
				n[i]++
			}
		}
		return n
	}
	created, bound, running := perSecond(t.created), perSecond(t.bound), perSecond(t.running)
	var b strings.Builder
	b.WriteString("  second  created  bound  Running\n")
	for i := range created {
		fmt.Fprintf(&b, "  %6d  %7d  %5d  %7d\n", i, created[i], bound[i], running[i])
	}
	return b.String()
}

// milestones returns when, since start, the first and the last task were
// seen created, bound and Running: where a small launch spends its time.
func (t *tracker) milestones(start time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	span := func(m map[string]time.Time) string {
		if len(m) == 0 {
			return "none"
		}
		var first, last time.Time
		for _, at := range m {
			if first.IsZero() || at.Before(first) {
				first = at
			}
			if at.After(last) {
				last = at
			}
		}
		ms := func(at time.Time) int64 { return at.Sub(start).Milliseconds() }
		return fmt.Sprintf("%d-%d ms", ms(first), ms(last))
	}
	return fmt.Sprintf("created %s, bound %s, Running %s", span(t.created), span(t.bound), span(t.running))
}

// dropCount returns how many tasks the tracker saw Dropped or in Error, and
// how many of each state/reason, e.g. "Dropped/InvalidOffers 21".
func (t *tracker) dropCount() (int, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, parts := 0, []string{}
	for _, k := range slices.Sorted(maps.Keys(t.dropped)) {
		n += t.dropped[k]
		parts = append(parts, fmt.Sprintf("%s %d", k, t.dropped[k]))
	}
	return n, strings.Join(parts, ", ")
}

// drops returns how many tasks ended Dropped or Error, by state and reason,
// with a few of their messages, or "" when none did.
func (t *tracker) drops() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.dropped) == 0 {
		return ""
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(t.dropped)) {
		fmt.Fprintf(&b, "  %-40s %6d\n", k, t.dropped[k])
	}
	for _, m := range t.dropMessages {
		fmt.Fprintf(&b, "  e.g. %s\n", m)
	}
	return b.String()
}
