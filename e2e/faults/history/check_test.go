package history

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
)

// builder writes a history one event at a time, with increasing
// resourceVersions.
type builder struct {
	h  *History
	rv int64
}

func newBuilder() *builder { return &builder{h: &History{}} }

func (b *builder) next() int64 { b.rv++; return b.rv }

func (b *builder) node(name, allocatable string) *builder {
	n := &v1alpha1.Node{}
	n.Name = name
	n.Status.Allocatable = resources.MustParse(allocatable).ToAPI()
	b.h.Add(Event{Type: Added, ResourceVersion: b.next(), Node: n})
	return b
}

func (b *builder) nodeStatus(name, allocatable, allocated, offered string) *builder {
	n := &v1alpha1.Node{}
	n.Name = name
	n.Status.Allocatable = resources.MustParse(allocatable).ToAPI()
	n.Status.Allocated = resources.MustParse(allocated).ToAPI()
	n.Status.Offered = resources.MustParse(offered).ToAPI()
	b.h.Add(Event{Type: Modified, ResourceVersion: b.next(), Node: n})
	return b
}

// offer records an offer version; phase "" is Outstanding.
func (b *builder) offer(typ EventType, name, framework, node, res string, phase v1alpha1.OfferPhase, tasks ...string) *builder {
	o := &v1alpha1.Offer{}
	o.Namespace, o.Name, o.UID = "ns", name, types.UID("offer-"+name)
	o.Spec.Framework, o.Spec.NodeName = framework, node
	o.Spec.Resources = resources.MustParse(res).ToAPI()
	o.Status.Phase, o.Status.Tasks = phase, tasks
	b.h.Add(Event{Type: typ, ResourceVersion: b.next(), Offer: o})
	return b
}

// task records a task version.
func (b *builder) task(typ EventType, name, framework, node, res string, state v1alpha1.TaskState, offers ...string) *builder {
	return b.taskWith(typ, name, framework, node, res, state, "", offers...)
}

func (b *builder) taskWith(typ EventType, name, framework, node, res string, state v1alpha1.TaskState, container string, offers ...string) *builder {
	t := &v1alpha1.Task{}
	t.Namespace, t.Name, t.UID = "ns", name, types.UID("uid-"+name)
	t.Spec.Framework, t.Spec.NodeName, t.Spec.Offers = framework, node, offers
	t.Spec.Resources = resources.MustParse(res).ToAPI()
	t.Status.State, t.Status.ContainerID = state, container
	b.h.Add(Event{Type: typ, ResourceVersion: b.next(), Task: t})
	return b
}

func (b *builder) sample(node string, at int, cs ...Container) *builder {
	b.h.AddSample(Sample{At: time.Unix(int64(at), 0), Node: node, Containers: cs})
	return b
}

func running(task, node string, pid int) Container {
	return Container{ID: "ns_" + task + "_uid-" + task, Status: "running", Pid: pid, Created: time.Unix(int64(pid), 0),
		TaskNamespace: "ns", TaskName: task, TaskUID: "uid-" + task, AnnotatedNode: node}
}

// good is a history that breaks nothing: an offer accepted for two tasks that
// fit, which run and finish; a second offer declined.
func good() *builder {
	return newBuilder().
		node("a", "cpus:2;mem:1Gi").
		offer(Added, "o1", "fw", "a", "cpus:1;mem:512Mi", "").
		offer(Added, "o2", "fw", "a", "cpus:1;mem:512Mi", "").
		task(Added, "t1", "fw", "", "cpus:0.5;mem:256Mi", "", "o1").
		task(Added, "t2", "fw", "", "cpus:0.5;mem:256Mi", "", "o1").
		offer(Modified, "o1", "fw", "a", "cpus:1;mem:512Mi", v1alpha1.OfferAccepted, "t1", "t2").
		task(Modified, "t1", "fw", "a", "cpus:0.5;mem:256Mi", "", "o1").
		task(Modified, "t2", "fw", "a", "cpus:0.5;mem:256Mi", "", "o1").
		offer(Modified, "o2", "fw", "a", "cpus:1;mem:512Mi", v1alpha1.OfferDeclined).
		taskWith(Modified, "t1", "fw", "a", "cpus:0.5;mem:256Mi", v1alpha1.TaskRunning, "ns_t1_uid-t1", "o1").
		taskWith(Modified, "t2", "fw", "a", "cpus:0.5;mem:256Mi", v1alpha1.TaskRunning, "ns_t2_uid-t2", "o1").
		nodeStatus("a", "cpus:2;mem:1Gi", "cpus:1;mem:512Mi", "cpus:0;mem:0").
		sample("a", 1, running("t1", "a", 100), running("t2", "a", 101)).
		taskWith(Modified, "t1", "fw", "a", "cpus:0.5;mem:256Mi", v1alpha1.TaskFinished, "ns_t1_uid-t1", "o1").
		task(Deleted, "t1", "fw", "a", "cpus:0.5;mem:256Mi", v1alpha1.TaskFinished, "o1").
		sample("a", 2, running("t2", "a", 101))
}

func TestCheckAcceptsAGoodHistory(t *testing.T) {
	g := NewWithT(t)
	b := good()
	g.Expect(Check(b.h)).To(BeEmpty())
	g.Expect(CheckSettled(b.h)).To(BeEmpty())
}

func TestCheckFindsEachViolation(t *testing.T) {
	tests := []struct {
		name      string
		history   func(b *builder) *builder
		invariant string
		message   string
	}{
		{"two outstanding offers past the node", func(b *builder) *builder {
			return b.offer(Added, "o3", "fw", "a", "cpus:1;mem:512Mi", "").offer(Added, "o4", "fw", "a", "cpus:0.6", "")
		}, "overcommit", "short of cpus 0.1"},
		{"an operator-bound task past the node", func(b *builder) *builder {
			return b.task(Added, "big", "fw", "a", "cpus:1.6", v1alpha1.TaskStaging)
		}, "overcommit", "task ns/big"},
		{"ports held twice", func(b *builder) *builder {
			return newBuilder().node("p", "cpus:4;mem:1Gi;ports:[31000-31010]").
				task(Added, "p1", "fw", "p", "cpus:0.1;ports:[31000-31002]", v1alpha1.TaskRunning).
				task(Added, "p2", "fw", "p", "cpus:0.1;ports:[31002]", v1alpha1.TaskRunning)
		}, "overcommit", "holds ports [31002] held already"},
		{"the master's node status past allocatable", func(b *builder) *builder {
			return b.nodeStatus("a", "cpus:2;mem:1Gi", "cpus:1.5", "cpus:1")
		}, "node-status", "exceed status.allocatable"},
		{"an offer accepted twice", func(b *builder) *builder {
			return b.offer(Modified, "o1", "fw", "a", "cpus:1;mem:512Mi", v1alpha1.OfferAccepted, "t3")
		}, "offer-reused", "accepted for tasks [t1 t2], then for [t3]"},
		{"a task bound on an offer accepted for others", func(b *builder) *builder {
			return b.task(Added, "t3", "fw", "a", "cpus:0.1", "", "o1").task(Modified, "t3", "fw", "a", "cpus:0.1", "", "o1")
		}, "offer-reused", "already accepted for [t1 t2]"},
		{"a task bound on a declined offer", func(b *builder) *builder {
			return b.task(Added, "t3", "fw", "a", "cpus:0.1", "", "o2").task(Modified, "t3", "fw", "a", "cpus:0.1", "", "o2")
		}, "offer-closed", "which was Declined"},
		{"a task bound on an offer never made", func(b *builder) *builder {
			return b.task(Added, "t3", "fw", "a", "cpus:0.1", "", "nope").task(Modified, "t3", "fw", "a", "cpus:0.1", "", "nope")
		}, "offer-closed", "never made"},
		{"a task bound on another framework's offer", func(b *builder) *builder {
			return b.offer(Added, "o3", "other", "a", "cpus:0.5", "").
				task(Added, "t3", "fw", "a", "cpus:0.1", "", "o3").task(Modified, "t3", "fw", "a", "cpus:0.1", "", "o3")
		}, "offer-foreign", "of framework other"},
		{"a task bound to another node than its offer's", func(b *builder) *builder {
			return b.node("b", "cpus:2").offer(Added, "o3", "fw", "a", "cpus:0.5", "").
				task(Modified, "t3", "fw", "b", "cpus:0.1", "", "o3")
		}, "offer-foreign", "on offer o3 of node a"},
		{"tasks past their offers", func(b *builder) *builder {
			return b.offer(Added, "o3", "fw", "a", "cpus:0.5", "").
				task(Added, "t3", "fw", "", "cpus:0.4", "", "o3").
				task(Added, "t4", "fw", "", "cpus:0.4", "", "o3").
				task(Modified, "t3", "fw", "a", "cpus:0.4", "", "o3").
				task(Modified, "t4", "fw", "a", "cpus:0.4", "", "o3")
		}, "offer-exceeded", "short of cpus 0.3"},
		{"an offer's final phase changes", func(b *builder) *builder {
			return b.offer(Modified, "o2", "fw", "a", "cpus:1;mem:512Mi", v1alpha1.OfferOutstanding)
		}, "offer-final", "from final Declined to Outstanding"},
		{"an offer's resources change", func(b *builder) *builder {
			return b.offer(Modified, "o2", "fw", "a", "cpus:2;mem:512Mi", v1alpha1.OfferDeclined)
		}, "offer-final", "what is offered changed"},
		{"a task moved to another node", func(b *builder) *builder {
			return b.node("b", "cpus:2").task(Modified, "t2", "fw", "b", "cpus:0.5;mem:256Mi", v1alpha1.TaskRunning, "o1")
		}, "task-node", "moved from node a"},
		{"a task reports a second container", func(b *builder) *builder {
			return b.taskWith(Modified, "t2", "fw", "a", "cpus:0.5;mem:256Mi", v1alpha1.TaskRunning, "other", "o1")
		}, "task-containers", "reported containers [ns_t2_uid-t2 other]"},
		{"a terminal state changes", func(b *builder) *builder {
			return b.taskWith(Modified, "t2", "fw", "a", "cpus:0.5;mem:256Mi", v1alpha1.TaskFailed, "ns_t2_uid-t2", "o1").
				taskWith(Modified, "t2", "fw", "a", "cpus:0.5;mem:256Mi", v1alpha1.TaskRunning, "ns_t2_uid-t2", "o1")
		}, "terminal-final", "left terminal state Failed for Running"},
		{"one task in two containers at once", func(b *builder) *builder {
			c := running("t2", "a", 300)
			c.ID = "copy"
			return b.sample("a", 3, running("t2", "a", 101), c)
		}, "task-twice", "runs in containers"},
		{"a container started twice", func(b *builder) *builder {
			return b.sample("a", 3, running("t2", "a", 102))
		}, "task-rerun", "started again"},
		{"a container on a node the task is not bound to", func(b *builder) *builder {
			return b.sample("b", 3, running("t2", "b", 500))
		}, "task-wrong-node", "which is bound to a"},
		{"a container of a task never bound", func(b *builder) *builder {
			return b.sample("a", 3, running("ghost", "a", 600))
		}, "task-wrong-node", "never bound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			v := Check(tt.history(good()).h)
			g.Expect(v).To(ContainElement(SatisfyAll(
				HaveField("Invariant", tt.invariant),
				HaveField("Message", ContainSubstring(tt.message)))), "%v", v)
		})
	}
}

func TestCheckSettledFindsLooseEnds(t *testing.T) {
	tests := []struct {
		name      string
		history   func(b *builder) *builder
		invariant string
		message   string
	}{
		{"a task left Unreachable", func(b *builder) *builder {
			return b.taskWith(Modified, "t2", "fw", "a", "cpus:0.5;mem:256Mi", v1alpha1.TaskUnreachable, "ns_t2_uid-t2", "o1")
		}, "unsettled", "ended the history Unreachable"},
		{"a task never launched", func(b *builder) *builder {
			return b.task(Added, "t3", "fw", "", "cpus:0.1", "")
		}, "unsettled", "ended the history (none)"},
		{"a container of a finished task", func(b *builder) *builder {
			return b.taskWith(Modified, "t2", "fw", "a", "cpus:0.5;mem:256Mi", v1alpha1.TaskFinished, "ns_t2_uid-t2", "o1").
				sample("a", 3, running("t2", "a", 101))
		}, "stale-container", "after the task ended Finished"},
		{"a container of a deleted task", func(b *builder) *builder {
			return b.sample("a", 3, running("t1", "a", 100))
		}, "stale-container", "after the task was deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			v := CheckSettled(tt.history(good()).h)
			g.Expect(v).To(ContainElement(SatisfyAll(
				HaveField("Invariant", tt.invariant),
				HaveField("Message", ContainSubstring(tt.message)))), "%v", v)
		})
	}
}

func TestEventsAreOrderedAndDeduplicated(t *testing.T) {
	g := NewWithT(t)
	h := &History{}
	n := &v1alpha1.Node{}
	n.Name = "a"
	h.Add(Event{Type: Modified, ResourceVersion: 7, Node: n})
	h.Add(Event{Type: Added, ResourceVersion: 3, Node: n})
	h.Add(Event{Type: Modified, ResourceVersion: 7, Node: n})
	var rvs []int64
	for _, e := range h.Events() {
		rvs = append(rvs, e.ResourceVersion)
	}
	g.Expect(rvs).To(Equal([]int64{3, 7}))
	_, err := ParseResourceVersion("x1")
	g.Expect(err).To(MatchError(ContainSubstring("not an etcd revision")))
}
