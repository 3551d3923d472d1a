package sdk

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
)

// res parses resources in the syntax of resources.Parse.
func res(spec string) v1alpha1.Resources { return resources.MustParse(spec).ToAPI() }

func mkOffer(name, node, spec string, attrs ...string) v1alpha1.Offer {
	o := v1alpha1.Offer{}
	o.Name = name
	o.Spec.NodeName = node
	o.Spec.Resources = res(spec)
	o.Spec.Attributes = at(node, attrs...).Attributes
	return o
}

func mkTask(name, spec string) v1alpha1.Task {
	return NewTask(name, v1alpha1.TaskTemplate{Resources: res(spec)})
}

func TestFits(t *testing.T) {
	tests := []struct {
		name  string
		offer string
		want  string
		fits  bool
	}{
		{name: "exact", offer: "cpus:1;mem:64Mi", want: "cpus:1;mem:64Mi", fits: true},
		{name: "less", offer: "cpus:1;mem:64Mi", want: "cpus:0.5", fits: true},
		{name: "short of mem", offer: "cpus:1;mem:64Mi", want: "cpus:0.5;mem:65Mi", fits: false},
		{name: "ports held", offer: "cpus:1;ports:[31000-31010]", want: "cpus:0.1;ports:[31005]", fits: true},
		{name: "ports not held", offer: "cpus:1;ports:[31000-31010]", want: "ports:[31011]", fits: false},
		{name: "gpus", offer: "cpus:1", want: "gpus:1", fits: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			o := mkOffer("o", "n", tt.offer)
			g.Expect(Fits(&o, res(tt.want))).To(Equal(tt.fits))
		})
	}
	g := NewWithT(t)
	bad := resource.MustParse("-1")
	o := mkOffer("o", "n", "cpus:1")
	g.Expect(Fits(&o, v1alpha1.Resources{Mem: &bad})).To(BeFalse(), "unreadable resources never fit")
}

func TestGroupByNodeAndAdd(t *testing.T) {
	g := NewWithT(t)
	offers := []v1alpha1.Offer{
		mkOffer("b-2", "b", "cpus:1;mem:1Gi", "rack", "r2"),
		mkOffer("a-1", "a", "cpus:0.5;mem:128Mi;ports:[31000-31001]", "rack", "r1"),
		mkOffer("a-2", "a", "cpus:0.5;mem:128Mi;ports:[31005]", "rack", "r1"),
	}
	nodes := GroupByNode(offers)
	g.Expect(nodes).To(HaveLen(2))
	a, b := nodes[0], nodes[1]
	g.Expect(a.Node).To(Equal("a"))
	g.Expect(a.Offers).To(Equal([]string{"a-1", "a-2"}))
	g.Expect(a.Free).To(Equal(resources.MustParse("cpus:1;mem:256Mi;ports:[31000-31001,31005]")))
	g.Expect(a.Placement()).To(Equal(at("a", "rack", "r1")))

	// Two tasks across both offers of a: more than either offer alone holds.
	g.Expect(a.Add(mkTask("t1", "cpus:0.75;mem:200Mi"))).To(Succeed())
	g.Expect(a.Add(mkTask("t2", "cpus:0.5"))).To(MatchError("a: short of cpus 0.25"))
	g.Expect(a.Add(mkTask("t3", "cpus:0.25;mem:56Mi;ports:[31005]"))).To(Succeed())
	g.Expect(a.Free).To(Equal(resources.MustParse("ports:[31000-31001]")))
	l, ok := a.Launch()
	g.Expect(ok).To(BeTrue())
	g.Expect(l.Offers).To(Equal([]string{"a-1", "a-2"}))
	g.Expect(l.Tasks).To(HaveLen(2))

	_, ok = b.Launch()
	g.Expect(ok).To(BeFalse())
	g.Expect(b.Decisions(Seconds(30))).To(Equal([]Decision{Decline{Offer: "b-2", RefuseSeconds: Seconds(30)}}))
	g.Expect(a.Decisions(nil)).To(Equal([]Decision{l}))
}

func TestPickPorts(t *testing.T) {
	tests := []struct {
		name  string
		free  string
		count int
		want  []int32
		ok    bool
	}{
		{name: "none wanted", free: "", count: 0, want: []int32{}, ok: true},
		{name: "lowest first across ranges", free: "31000-31001,31005-31010", count: 3, want: []int32{31000, 31001, 31005}, ok: true},
		{name: "too few", free: "31000-31001", count: 3, ok: false},
		{name: "no ranges", free: "", count: 1, ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			var free []v1alpha1.PortRange
			if tt.free != "" {
				free = resources.MustParse("ports:[" + tt.free + "]").Ports.ToAPI()
			}
			got, ok := PickPorts(free, tt.count)
			g.Expect(ok).To(Equal(tt.ok))
			if tt.ok {
				g.Expect(got).To(Equal(tt.want))
			}
		})
	}
	g := NewWithT(t)
	g.Expect(PortRanges([]int32{31003, 31000, 31001, 0})).To(Equal([]v1alpha1.PortRange{{Begin: 31000, End: 31001}, {Begin: 31003, End: 31003}}))
}

func TestTaskName(t *testing.T) {
	g := NewWithT(t)
	g.Expect(TaskName("nightly", "3", "0")).To(Equal("nightly-3-0"))
	g.Expect(TaskName("My_Job", "x")).To(Equal("my-job-x"))
	g.Expect(TaskName()).To(Equal("task"))
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'a'
	}
	n1, n2 := TaskName(string(long), "1"), TaskName(string(long), "2")
	g.Expect(len(n1)).To(BeNumerically("<=", MaxNameLength))
	g.Expect(n1).NotTo(Equal(n2))
	g.Expect(TaskName(string(long), "1")).To(Equal(n1), "deterministic")
	parts := []string{"A", "B"}
	TaskName(parts...)
	g.Expect(parts).To(Equal([]string{"A", "B"}), "arguments untouched")
}
