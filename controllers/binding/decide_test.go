package binding

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func ov(name, node, spec string, mods ...func(*OfferView)) OfferView {
	o := OfferView{Name: name, Namespace: "team-a", Found: true, Framework: "analytics", Node: node,
		Resources: resources.MustParse(spec), Phase: v1alpha1.OfferOutstanding}
	for _, m := range mods {
		m(&o)
	}
	return o
}

func tv(name string, created int, spec string, offers ...string) TaskView {
	return TaskView{Name: name, Namespace: "team-a", Framework: "analytics", Offers: offers,
		Resources: resources.MustParse(spec).ToAPI(), Created: t0.Add(time.Duration(created) * time.Second)}
}

func offersOf(os ...OfferView) map[string]OfferView {
	m := map[string]OfferView{}
	for _, o := range os {
		m[o.Name] = o
	}
	return m
}

func dropped(task, msg string) Drop {
	return Drop{Task: task, State: v1alpha1.TaskDropped, Reason: v1alpha1.ReasonInvalidOffers, Message: msg}
}

func TestDecide(t *testing.T) {
	big := "cpus:2;mem:2Gi;ports:[31000-31001]"
	tests := []struct {
		name   string
		tasks  []TaskView
		offers map[string]OfferView
		binds  []Bind // Resources are not compared
		drops  []Drop
	}{{
		name:   "valid accept",
		tasks:  []TaskView{tv("t1", 0, "cpus:0.5;mem:64Mi", "o1")},
		offers: offersOf(ov("o1", "n1", big)),
		binds:  []Bind{{Node: "n1", Accept: []string{"o1"}, Tasks: []string{"t1"}, OfferTasks: map[string][]string{"o1": {"t1"}}}},
	}, {
		name:   "two offers of one node hold what one does not",
		tasks:  []TaskView{tv("t1", 0, "cpus:3", "o1", "o2")},
		offers: offersOf(ov("o1", "n1", big), ov("o2", "n1", "cpus:1;mem:1Gi")),
		binds: []Bind{{Node: "n1", Accept: []string{"o1", "o2"}, Tasks: []string{"t1"},
			OfferTasks: map[string][]string{"o1": {"t1"}, "o2": {"t1"}}}},
	}, {
		name:   "several tasks share an offer",
		tasks:  []TaskView{tv("t2", 1, "cpus:1", "o1"), tv("t1", 0, "cpus:1", "o1")},
		offers: offersOf(ov("o1", "n1", big)),
		binds:  []Bind{{Node: "n1", Accept: []string{"o1"}, Tasks: []string{"t1", "t2"}, OfferTasks: map[string][]string{"o1": {"t1", "t2"}}}},
	}, {
		name:   "the earlier of two racing tasks wins",
		tasks:  []TaskView{tv("late", 2, "cpus:1.5", "o1"), tv("early", 1, "cpus:1.5", "o1")},
		offers: offersOf(ov("o1", "n1", big)),
		binds:  []Bind{{Node: "n1", Accept: []string{"o1"}, Tasks: []string{"early"}, OfferTasks: map[string][]string{"o1": {"early"}}}},
		drops:  []Drop{dropped("late", "offer o1 holds cpus 0.5 after task early, but the task needs cpus 1.5")},
	}, {
		name:   "wrong framework",
		tasks:  []TaskView{tv("t1", 0, "cpus:1", "o1")},
		offers: offersOf(ov("o1", "n1", big, func(o *OfferView) { o.Framework = "batch" })),
		drops:  []Drop{dropped("t1", "offer o1 belongs to framework batch, not analytics")},
	}, {
		name:   "wrong namespace",
		tasks:  []TaskView{tv("t1", 0, "cpus:1", "o1")},
		offers: offersOf(ov("o1", "n1", big, func(o *OfferView) { o.Namespace = "team-b" })),
		drops:  []Drop{dropped("t1", "offer o1 is in namespace team-b, not team-a")},
	}, {
		name:   "offers on two nodes",
		tasks:  []TaskView{tv("t1", 0, "cpus:1", "o1", "o2")},
		offers: offersOf(ov("o1", "n1", big), ov("o2", "n2", big)),
		drops:  []Drop{dropped("t1", "offers lie on more than one node: o1 on n1; o2 on n2")},
	}, {
		name:   "not enough resources",
		tasks:  []TaskView{tv("t1", 0, "cpus:1;mem:64Mi", "o1")},
		offers: offersOf(ov("o1", "n1", "cpus:0.5;mem:1Gi")),
		drops:  []Drop{dropped("t1", "offer o1 holds cpus 0.5 but the task needs cpus 1")},
	}, {
		name:   "a port the offer lacks",
		tasks:  []TaskView{tv("t1", 0, "cpus:1;ports:[31005]", "o1")},
		offers: offersOf(ov("o1", "n1", big)),
		drops:  []Drop{dropped("t1", "offer o1 holds ports [31000-31001] but the task needs ports [31005]")},
	}, {
		name:   "a port another task of the accept takes",
		tasks:  []TaskView{tv("t1", 0, "cpus:0.5;ports:[31000]", "o1"), tv("t2", 1, "cpus:0.5;ports:[31000]", "o1")},
		offers: offersOf(ov("o1", "n1", big)),
		binds:  []Bind{{Node: "n1", Accept: []string{"o1"}, Tasks: []string{"t1"}, OfferTasks: map[string][]string{"o1": {"t1"}}}},
		drops:  []Drop{dropped("t2", "ports [31000] of offer o1 are taken by task t1")},
	}, {
		name:  "already accepted by another task",
		tasks: []TaskView{tv("t2", 0, "cpus:1", "o1")},
		offers: offersOf(ov("o1", "n1", big, func(o *OfferView) {
			o.Phase, o.Tasks = v1alpha1.OfferAccepted, []string{"t1"}
		})),
		drops: []Drop{dropped("t2", "offer o1 was already accepted by task t1")},
	}, {
		name:  "accepted for this task: bind it (repair after a crash)",
		tasks: []TaskView{tv("t1", 0, "cpus:1", "o1")},
		offers: offersOf(ov("o1", "n1", big, func(o *OfferView) {
			o.Phase, o.Tasks = v1alpha1.OfferAccepted, []string{"t1", "t0"}
		})),
		binds: []Bind{{Node: "n1", Held: []string{"o1"}, Tasks: []string{"t1"}, OfferTasks: map[string][]string{}}},
	}, {
		name:  "one offer accepted for the task, the other still outstanding",
		tasks: []TaskView{tv("t1", 0, "cpus:3", "o1", "o2")},
		offers: offersOf(ov("o1", "n1", big, func(o *OfferView) {
			o.Phase, o.Tasks = v1alpha1.OfferAccepted, []string{"t1"}
		}), ov("o2", "n1", "cpus:1")),
		binds: []Bind{{Node: "n1", Accept: []string{"o2"}, Held: []string{"o1"}, Tasks: []string{"t1"},
			OfferTasks: map[string][]string{"o2": {"t1"}}}},
	}, {
		name:   "rescinded",
		tasks:  []TaskView{tv("t1", 0, "cpus:1", "o1")},
		offers: offersOf(ov("o1", "n1", big, func(o *OfferView) { o.Phase, o.Reason = v1alpha1.OfferRescinded, v1alpha1.OfferReasonNodeUnschedulable })),
		drops:  []Drop{dropped("t1", "offer o1 is Rescinded (NodeUnschedulable)")},
	}, {
		name:  "rescinded, with the offer's message",
		tasks: []TaskView{tv("t1", 0, "cpus:1", "o1")},
		offers: offersOf(ov("o1", "n1", big, func(o *OfferView) {
			o.Phase, o.Reason, o.Message = v1alpha1.OfferRescinded, v1alpha1.OfferReasonFrameworkInactive, "framework is suppressed"
		})),
		drops: []Drop{dropped("t1", "offer o1 is Rescinded (FrameworkInactive: framework is suppressed)")},
	}, {
		name:   "declined but not closed yet",
		tasks:  []TaskView{tv("t1", 0, "cpus:1", "o1")},
		offers: offersOf(ov("o1", "n1", big, func(o *OfferView) { o.Declined = true })),
		drops:  []Drop{dropped("t1", "offer o1 was declined")},
	}, {
		name:   "missing offer",
		tasks:  []TaskView{tv("t1", 0, "cpus:1", "o1", "o9")},
		offers: offersOf(ov("o1", "n1", big)),
		drops:  []Drop{dropped("t1", "offer o9 does not exist")},
	}, {
		name:   "a dropped task does not join the others' nodes",
		tasks:  []TaskView{tv("t1", 0, "cpus:1", "a"), tv("t2", 1, "cpus:1", "a", "b"), tv("t3", 2, "cpus:1", "b")},
		offers: offersOf(ov("a", "n1", big), ov("b", "n2", big)),
		binds: []Bind{
			{Node: "n1", Accept: []string{"a"}, Tasks: []string{"t1"}, OfferTasks: map[string][]string{"a": {"t1"}}},
			{Node: "n2", Accept: []string{"b"}, Tasks: []string{"t3"}, OfferTasks: map[string][]string{"b": {"t3"}}},
		},
		drops: []Drop{dropped("t2", "offers lie on more than one node: a on n1; b on n2")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			out := Decide(tt.tasks, tt.offers)
			for i := range out.Binds {
				out.Binds[i].Resources = nil
			}
			g.Expect(out.Binds).To(Equal(tt.binds))
			g.Expect(out.Drops).To(Equal(tt.drops))
		})
	}
}

func TestDecideMalformedTask(t *testing.T) {
	g := NewWithT(t)
	bad := tv("t1", 0, "cpus:1", "o1")
	tiny := resource.MustParse("100u")
	bad.Resources.Cpus = &tiny
	out := Decide([]TaskView{bad, tv("t2", 1, "cpus:1", "o1")}, offersOf(ov("o1", "n1", "cpus:2")))
	g.Expect(out.Drops).To(HaveLen(1))
	g.Expect(out.Drops[0].State).To(Equal(v1alpha1.TaskError))
	g.Expect(out.Drops[0].Reason).To(Equal(v1alpha1.ReasonTaskInvalid))
	g.Expect(out.Drops[0].Message).To(HavePrefix("spec.resources.cpus"))
	g.Expect(out.Binds).To(HaveLen(1))
	g.Expect(out.Binds[0].Tasks).To(Equal([]string{"t2"}))
}
