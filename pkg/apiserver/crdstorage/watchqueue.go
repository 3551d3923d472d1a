package crdstorage

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/storage"
)

// watchQueueLimit is how many events a watch may have queued for its client
// beyond the watch cache's own queue.
const watchQueueLimit = 10000

// queuedWatches is storage whose watches queue their events as soon as the
// watch cache hands them over, up to watchQueueLimit, so that a client that
// reads slowly for a moment is not closed for it.
//
// The watch cache gives each watcher a queue sized when the watch starts,
// from how many events the cache then keeps: 10 events in a cluster that was
// quiet when the watch began, which is when controllers, frameworks and
// operators' `kubectl get -w` start theirs. The watcher's events wait there
// while the API server encodes and writes the ones before them; when a
// burst (a Job of a thousand tasks) fills it on a busy master, the cache
// waits for it a little and then closes it, and every event since the
// client's version is gone through again when it comes back. The goroutine
// of a queuedWatch only moves events from the cache's queue to its own, so
// it keeps the cache's queue empty, and its own grows instead.
type queuedWatches struct {
	storage.Interface
}

// Watch implements storage.Interface.
func (s queuedWatches) Watch(ctx context.Context, key string, opts storage.ListOptions) (watch.Interface, error) {
	w, err := s.Interface.Watch(ctx, key, opts)
	if err != nil || w == nil {
		return w, err
	}
	return newQueuedWatch(w, watchQueueLimit), nil
}

// queuedWatch passes the events of a watch on through a queue of up to limit
// events.
type queuedWatch struct {
	source   watch.Interface
	result   chan watch.Event
	stopped  chan struct{}
	stopOnce sync.Once
}

func newQueuedWatch(source watch.Interface, limit int) *queuedWatch {
	w := &queuedWatch{source: source, result: make(chan watch.Event), stopped: make(chan struct{})}
	go w.run(limit)
	return w
}

// ResultChan implements watch.Interface.
func (w *queuedWatch) ResultChan() <-chan watch.Event { return w.result }

// Stop implements watch.Interface.
func (w *queuedWatch) Stop() {
	w.stopOnce.Do(func() { close(w.stopped) })
}

// run moves the source's events into the queue and from it to the result
// until the source ends and the queue is empty, or Stop is called; then it
// stops the source and closes the result. While limit events wait it takes
// no more, and the source's own queue fills as it would without this one:
// a watch that starts with every object (a streamed list) is sent them at
// its client's pace, and one that falls further behind is closed by the
// cache, as before.
func (w *queuedWatch) run(limit int) {
	defer close(w.result)
	defer w.source.Stop()
	source := w.source.ResultChan()
	var queue eventQueue
	for source != nil || queue.len() > 0 {
		var in <-chan watch.Event
		if queue.len() < limit {
			in = source
		}
		var out chan watch.Event
		var next watch.Event
		if queue.len() > 0 {
			out, next = w.result, queue.first()
		}
		select {
		case e, ok := <-in:
			if !ok {
				source = nil
				continue
			}
			queue.push(e)
		case out <- next:
			queue.pop()
		case <-w.stopped:
			return
		}
	}
}

// eventQueue is a first-in first-out queue of events.
type eventQueue struct {
	events []watch.Event
	head   int
}

func (q *eventQueue) len() int { return len(q.events) - q.head }

func (q *eventQueue) first() watch.Event { return q.events[q.head] }

func (q *eventQueue) push(e watch.Event) {
	if q.head > 0 && len(q.events) == cap(q.events) && q.head >= len(q.events)/2 {
		// Reuse the front that was sent rather than grow.
		n := copy(q.events, q.events[q.head:])
		clear(q.events[n:])
		q.events, q.head = q.events[:n], 0
	}
	q.events = append(q.events, e)
}

func (q *eventQueue) pop() {
	q.events[q.head] = watch.Event{}
	q.head++
	if q.head == len(q.events) {
		q.events, q.head = q.events[:0], 0
	}
}
