package crdstorage

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/storage"
)

// sourceWatch is a watch like the watch cache's: a queue of one event, whose
// sender gives up (the cache closes the watcher) when it stays full for a
// moment.
type sourceWatch struct {
	events  chan watch.Event
	stopped chan struct{}
}

func newSourceWatch() *sourceWatch {
	return &sourceWatch{events: make(chan watch.Event, 1), stopped: make(chan struct{})}
}

func (s *sourceWatch) ResultChan() <-chan watch.Event { return s.events }
func (s *sourceWatch) Stop()                          { close(s.stopped) }

// send sends the event, or reports that the queue stayed full for a second
// (the cache would close the watcher).
func (s *sourceWatch) send(e watch.Event) bool {
	select {
	case s.events <- e:
		return true
	case <-time.After(time.Second):
		return false
	}
}

func event(i int) watch.Event {
	u := &unstructured.Unstructured{}
	u.SetName(fmt.Sprintf("t-%d", i))
	return watch.Event{Type: watch.Modified, Object: u}
}

func names(events []watch.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Object.(*unstructured.Unstructured).GetName())
	}
	return out
}

func drain(w watch.Interface) []watch.Event {
	var got []watch.Event
	for e := range w.ResultChan() {
		got = append(got, e)
	}
	return got
}

func TestQueuedWatchTakesEventsWhileItsClientDoesNotRead(t *testing.T) {
	g := NewWithT(t)
	src := newSourceWatch()
	w := newQueuedWatch(src, 1000)
	var want []watch.Event
	for i := range 500 {
		g.Expect(src.send(event(i))).To(BeTrue(), "event %d: the source's queue of one must keep emptying while nobody reads", i)
		want = append(want, event(i))
	}
	close(src.events)
	g.Expect(names(drain(w))).To(Equal(names(want)), "every event, in order, then the end of the watch")
}

func TestQueuedWatchTakesNoMoreThanItsLimit(t *testing.T) {
	g := NewWithT(t)
	src := newSourceWatch()
	w := newQueuedWatch(src, 10)
	for i := range 11 {
		g.Expect(src.send(event(i))).To(BeTrue())
	}
	// Ten wait in the queue, one in the source's: the next finds the
	// source's queue full, as the cache would without this queue (a
	// streamed list waits; a watch the cache dispatches to is closed).
	g.Expect(src.send(event(11))).To(BeFalse(), "past the limit, the source's queue fills")
	close(src.events)
	g.Expect(names(drain(w))).To(HaveLen(11), "every event it took is sent, then the watch ends")
	g.Eventually(src.stopped).Should(BeClosed())
}

func TestQueuedWatchStopStopsTheSource(t *testing.T) {
	g := NewWithT(t)
	src := newSourceWatch()
	w := newQueuedWatch(src, 10)
	g.Expect(src.send(event(1))).To(BeTrue())
	w.Stop()
	w.Stop() // twice is fine, as for any watch
	g.Eventually(src.stopped).Should(BeClosed())
	g.Eventually(w.ResultChan()).Should(BeClosed())
}

func TestQueuedWatchReusesItsQueue(t *testing.T) {
	g := NewWithT(t)
	var q eventQueue
	next, sent := 0, 0
	// Push three, send two, many times over: the queue never holds more than
	// a few, so its array stays small.
	for range 1000 {
		for range 3 {
			q.push(event(next))
			next++
		}
		for range 2 {
			g.Expect(names([]watch.Event{q.first()})).To(Equal([]string{fmt.Sprintf("t-%d", sent)}))
			q.pop()
			sent++
		}
	}
	g.Expect(q.len()).To(Equal(1000))
	g.Expect(cap(q.events)).To(BeNumerically("<", 3000), "the front that was sent is reused, not kept: 3,000 were pushed")
	for q.len() > 0 {
		g.Expect(names([]watch.Event{q.first()})).To(Equal([]string{fmt.Sprintf("t-%d", sent)}))
		q.pop()
		sent++
	}
	g.Expect(sent).To(Equal(3000))
}

func TestTuneWatchCachesQueuesEveryWatch(t *testing.T) {
	g := NewWithT(t)
	var got decorated
	for _, resource := range []schema.GroupResource{tasks, offers} {
		s := &recordingStorage{serves: newSourceWatch()}
		out := decorate(TuneWatchCaches(recordingGetter{got: &got, storage: s}), resource, nil)
		w, err := out.Watch(context.Background(), "/"+resource.Resource+"/", storage.ListOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(w).To(BeAssignableToTypeOf(&queuedWatch{}), resource)
		w.Stop()
	}
}
