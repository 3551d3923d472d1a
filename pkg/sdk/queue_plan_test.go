package sdk

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/apis/v1alpha1"
)

func group(key string, n int, spec string, cs ...v1alpha1.Constraint) keyedGroup {
	g := keyedGroup{key: key}
	for i := range n {
		g.Tasks = append(g.Tasks, mkTask(TaskName(key, string(rune('a'+i))), spec))
	}
	g.Constraints = cs
	return g
}

// launches returns the task names launched per node offer set, and the declined offers.
func summarizeDecisions(ds []Decision) (map[string][]string, []string) {
	launched := map[string][]string{}
	var declined []string
	for _, d := range ds {
		switch d := d.(type) {
		case Launch:
			for _, t := range d.Tasks {
				launched[d.Offers[0]] = append(launched[d.Offers[0]], t.Name)
			}
		case Decline:
			declined = append(declined, d.Offer)
		}
	}
	return launched, declined
}

func TestPlan(t *testing.T) {
	offers := []v1alpha1.Offer{
		mkOffer("a-1", "a", "cpus:1;mem:1Gi;ports:[31000-31002]", "rack", "r1"),
		mkOffer("b-1", "b", "cpus:1;mem:1Gi;ports:[31000-31002]", "rack", "r2"),
		mkOffer("c-1", "c", "cpus:0.1;mem:1Gi", "rack", "r2"),
	}
	tests := []struct {
		name         string
		groups       []keyedGroup
		wantLaunched map[string][]string
		wantDeclined []string
		wantWaiting  int
		wantRefuse   int32
		wantUnplaced map[string]string
	}{
		{
			name:         "nothing to launch declines all, idle",
			wantLaunched: map[string][]string{}, wantDeclined: []string{"a-1", "b-1", "c-1"}, wantRefuse: 60,
			wantUnplaced: map[string]string{},
		},
		{
			name:         "first fit packs in node order",
			groups:       []keyedGroup{group("j", 3, "cpus:0.5")},
			wantLaunched: map[string][]string{"a-1": {"j-a", "j-b"}, "b-1": {"j-c"}}, wantDeclined: []string{"c-1"}, wantRefuse: 60,
			wantUnplaced: map[string]string{},
		},
		{
			name:         "round robin between groups",
			groups:       []keyedGroup{group("x", 3, "cpus:0.5"), group("y", 3, "cpus:0.5")},
			wantLaunched: map[string][]string{"a-1": {"x-a", "y-a"}, "b-1": {"x-b", "y-b"}},
			wantDeclined: []string{"c-1"}, wantWaiting: 2, wantRefuse: 5,
			wantUnplaced: map[string]string{"x": "a: short of cpus 0.5; b: short of cpus 0.5; c: short of cpus 0.4", "y": "a: short of cpus 0.5; b: short of cpus 0.5; c: short of cpus 0.4"},
		},
		{
			name:         "constraint spreads over racks",
			groups:       []keyedGroup{group("w", 3, "cpus:0.1", v1alpha1.Constraint{"rack", "UNIQUE"})},
			wantLaunched: map[string][]string{"a-1": {"w-a"}, "b-1": {"w-b"}},
			wantDeclined: []string{"c-1"}, wantWaiting: 1, wantRefuse: 5,
			wantUnplaced: map[string]string{"w": "[rack, UNIQUE]: a task runs on rack=r1 already; [rack, UNIQUE]: a task runs on rack=r2 already; [rack, UNIQUE]: a task runs on rack=r2 already"},
		},
		{
			name: "placed tasks count for constraints",
			groups: []keyedGroup{func() keyedGroup {
				g := group("w", 1, "cpus:0.1", v1alpha1.Constraint{"hostname", "UNIQUE"})
				g.Placed = []Placement{at("a"), at("b")}
				return g
			}()},
			wantLaunched: map[string][]string{"c-1": {"w-a"}}, wantDeclined: []string{"a-1", "b-1"}, wantRefuse: 60,
			wantUnplaced: map[string]string{},
		},
		{
			name:         "a group stops at its first task that fits nowhere",
			groups:       []keyedGroup{{key: "g", Group: Group{Tasks: []v1alpha1.Task{mkTask("big", "cpus:2"), mkTask("small", "cpus:0.1")}}}},
			wantLaunched: map[string][]string{}, wantDeclined: []string{"a-1", "b-1", "c-1"}, wantWaiting: 2, wantRefuse: 5,
			wantUnplaced: map[string]string{"g": "a: short of cpus 1; b: short of cpus 1; c: short of cpus 1.9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			res := plan(tt.groups, GroupByNode(offers), QueueOptions{RefuseSeconds: 5, IdleRefuseSeconds: 60})
			launched, declined := summarizeDecisions(res.decisions)
			g.Expect(launched).To(Equal(tt.wantLaunched))
			g.Expect(declined).To(Equal(tt.wantDeclined))
			g.Expect(res.waiting).To(Equal(tt.wantWaiting))
			g.Expect(res.unplaced).To(Equal(tt.wantUnplaced))
			for _, d := range res.decisions {
				if d, ok := d.(Decline); ok {
					g.Expect(*d.RefuseSeconds).To(Equal(tt.wantRefuse))
				}
			}
		})
	}
}

func TestPlanPorts(t *testing.T) {
	g := NewWithT(t)
	offers := []v1alpha1.Offer{mkOffer("a-1", "a", "cpus:1;ports:[31000-31002]")}
	grp := group("web", 2, "cpus:0.1")
	grp.Ports = 2
	grp.Tasks[0].Spec.Resources.Ports = []v1alpha1.PortRange{{Begin: 31001, End: 31001}} // names one itself
	res := plan([]keyedGroup{grp}, GroupByNode(offers), QueueOptions{RefuseSeconds: 5, IdleRefuseSeconds: 60})
	g.Expect(res.launched).To(Equal([]string{"web-a"}))
	l := res.decisions[0].(Launch)
	task := l.Tasks[0]
	g.Expect(task.Spec.Resources.Ports).To(Equal([]v1alpha1.PortRange{{Begin: 31001, End: 31001}, {Begin: 31000, End: 31000}, {Begin: 31002, End: 31002}}))
	g.Expect(task.Spec.Container.Env).To(ConsistOf(
		v1alpha1.EnvVar{Name: "PORT0", Value: "31000"}, v1alpha1.EnvVar{Name: "PORT1", Value: "31002"}, v1alpha1.EnvVar{Name: "PORTS", Value: "31000,31002"}))
	g.Expect(res.unplaced["web"]).To(Equal("a: short of 2 ports"))
}

// testDriver is a Driver with no cluster, to observe what a Queue asks of it.
func testDriver() *Driver {
	return &Driver{wake: make(chan struct{}, 1), dirty: map[string]struct{}{}}
}

func TestQueueSuppressesAndRevives(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	d := testDriver()
	q := NewQueue(QueueOptions{})
	q.Registered(ctx, d, nil)
	sup, revives := d.wanted()
	g.Expect(sup).To(BeTrue(), "nothing to launch: suppressed")
	g.Expect(revives).To(Equal(0))

	q.Set("j", Group{Tasks: []v1alpha1.Task{mkTask("j-0", "cpus:0.5"), mkTask("j-1", "cpus:0.5")}})
	sup, revives = d.wanted()
	g.Expect(sup).To(BeFalse())
	g.Expect(revives).To(Equal(1), "tasks came: revived once")
	g.Expect(d.offerPass).To(BeTrue(), "a pass was triggered")
	q.Set("j", Group{Tasks: []v1alpha1.Task{mkTask("j-0", "cpus:0.5"), mkTask("j-1", "cpus:0.5"), mkTask("j-2", "cpus:0.5")}})
	_, revives = d.wanted()
	g.Expect(revives).To(Equal(1), "no revive while offers are wanted already")

	ds := q.ResourceOffers(ctx, d, []v1alpha1.Offer{mkOffer("a-1", "a", "cpus:1")})
	launched, _ := summarizeDecisions(ds)
	g.Expect(launched).To(Equal(map[string][]string{"a-1": {"j-0", "j-1"}}))
	g.Expect(q.Waiting()).To(Equal(1))

	// The framework has not seen its launches yet and still asks for them.
	ds = q.ResourceOffers(ctx, d, []v1alpha1.Offer{mkOffer("b-1", "b", "cpus:1")})
	launched, _ = summarizeDecisions(ds)
	g.Expect(launched).To(Equal(map[string][]string{"b-1": {"j-2"}}), "launched tasks are not launched twice")
	sup, _ = d.wanted()
	g.Expect(sup).To(BeTrue(), "all launched: suppressed")

	// A launch that failed makes its task wait again.
	q.LaunchFailed(ctx, d, &v1alpha1.Task{ObjectMeta: mkTask("j-2", "").ObjectMeta}, nil)
	g.Expect(q.Waiting()).To(Equal(1))
	sup, revives = d.wanted()
	g.Expect(sup).To(BeFalse())
	g.Expect(revives).To(Equal(2))

	q.Delete("j")
	g.Expect(q.Waiting()).To(Equal(0))
	sup, _ = d.wanted()
	g.Expect(sup).To(BeTrue())
}

// BenchmarkPlan places one Job-like group of 10,000 tasks on the offers of
// 1,000 nodes with room for 10 tasks each: most tries meet a node that is full.
func BenchmarkPlan(b *testing.B) {
	const nodes, tasks = 1000, 10000
	offers := make([]v1alpha1.Offer, nodes)
	for i := range offers {
		node := fmt.Sprintf("node-%04d", i)
		offers[i] = mkOffer(node+"-1", node, "cpus:1;mem:1Gi")
	}
	g := keyedGroup{key: "job"}
	for i := range tasks {
		g.Tasks = append(g.Tasks, mkTask(fmt.Sprintf("job-%d-0", i), "cpus:0.1;mem:32Mi"))
	}
	b.ReportAllocs()
	for b.Loop() {
		res := plan([]keyedGroup{g}, GroupByNode(offers), QueueOptions{RefuseSeconds: 5, IdleRefuseSeconds: 60})
		if len(res.launched) != tasks {
			b.Fatalf("placed %d tasks, want %d", len(res.launched), tasks)
		}
	}
}
