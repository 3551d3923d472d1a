package history

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"meseta.dev/meseta/apis/v1alpha1"
)

// EventType is the type of a watch event.
type EventType string

// Watch event types, as the API server sends them.
const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
)

// Event is one watch event of a Task, an Offer or a Node: exactly one of the
// three is set, as the event carried it.
type Event struct {
	// Type is ADDED, MODIFIED or DELETED.
	Type EventType
	// ResourceVersion is the object's resourceVersion in the event, which
	// orders events of all kinds (they share one etcd revision).
	ResourceVersion int64
	// Observed is when the recorder received the event.
	Observed time.Time

	Task  *v1alpha1.Task
	Offer *v1alpha1.Offer
	Node  *v1alpha1.Node
}

// Kind returns the kind of the event's object.
func (e Event) Kind() string {
	switch {
	case e.Task != nil:
		return "Task"
	case e.Offer != nil:
		return "Offer"
	case e.Node != nil:
		return "Node"
	}
	return ""
}

// Key returns the event's object as Kind/namespace/name.
func (e Event) Key() string {
	switch {
	case e.Task != nil:
		return "Task/" + e.Task.Namespace + "/" + e.Task.Name
	case e.Offer != nil:
		return "Offer/" + e.Offer.Namespace + "/" + e.Offer.Name
	case e.Node != nil:
		return "Node/" + e.Node.Name
	}
	return ""
}

// Container is one container an agent's OCI runtime reported.
type Container struct {
	// ID is the container's ID.
	ID string
	// Status is the runtime's status: created, running, paused or stopped.
	Status string
	// Pid is the container's init process.
	Pid int
	// Created is when the runtime created the container.
	Created time.Time
	// TaskNamespace, TaskName and TaskUID are the task the agent annotated the
	// container with; AnnotatedNode is the node it annotated.
	TaskNamespace, TaskName, TaskUID, AnnotatedNode string
}

// Alive reports whether the container runs or may run (not stopped).
func (c Container) Alive() bool {
	return c.Status != "stopped" && c.Status != ""
}

// Sample is what one agent's runtime ran at one time.
type Sample struct {
	// At is when the sample was taken.
	At time.Time
	// Node is the node of the agent whose runtime was listed.
	Node string
	// Containers are the containers the runtime listed.
	Containers []Container
}

// History is a recorded history: watch events and runtime samples. It is safe
// for concurrent use by the recorder's goroutines.
type History struct {
	mu      sync.Mutex
	events  []Event
	samples []Sample
}

// Add records a watch event.
func (h *History) Add(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

// AddSample records a runtime sample.
func (h *History) AddSample(s Sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.samples = append(h.samples, s)
}

// Events returns the events ordered by resourceVersion, without duplicates (a
// watch restarted after a failover may deliver an event twice).
func (h *History) Events() []Event {
	h.mu.Lock()
	events := slices.Clone(h.events)
	h.mu.Unlock()
	slices.SortStableFunc(events, func(a, b Event) int {
		if a.ResourceVersion != b.ResourceVersion {
			if a.ResourceVersion < b.ResourceVersion {
				return -1
			}
			return 1
		}
		return 0
	})
	out := events[:0]
	seen := map[string]bool{}
	for _, e := range events {
		id := fmt.Sprintf("%s@%d/%s", e.Key(), e.ResourceVersion, e.Type)
		if !seen[id] {
			seen[id] = true
			out = append(out, e)
		}
	}
	return out
}

// Samples returns the runtime samples in the order they were taken.
func (h *History) Samples() []Sample {
	h.mu.Lock()
	samples := slices.Clone(h.samples)
	h.mu.Unlock()
	slices.SortStableFunc(samples, func(a, b Sample) int { return a.At.Compare(b.At) })
	return samples
}

// Len returns the number of events and samples recorded.
func (h *History) Len() (events, samples int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.events), len(h.samples)
}

// ParseResourceVersion parses a resourceVersion; Meseta's come from etcd and
// are decimal revisions.
func ParseResourceVersion(rv string) (int64, error) {
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("resourceVersion %q is not an etcd revision: %w", rv, err)
	}
	return n, nil
}

// Violation is a broken invariant.
type Violation struct {
	// Invariant names the invariant (see the package documentation).
	Invariant string
	// ResourceVersion is where in the history it was found; 0 for runtime
	// samples and the final state.
	ResourceVersion int64
	// Object is the object concerned, as Kind/namespace/name.
	Object string
	// Message says what was wrong.
	Message string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s at rv %d on %s: %s", v.Invariant, v.ResourceVersion, v.Object, v.Message)
}
