package sdk_test

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
	ctrl "sigs.k8s.io/controller-runtime"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/sdk"
)

// hello launches one task that prints a greeting, then declines every offer.
type hello struct {
	launched bool
}

func (h *hello) ResourceOffers(_ context.Context, d *sdk.Driver, offers []v1alpha1.Offer) []sdk.Decision {
	tmpl := v1alpha1.TaskTemplate{
		Resources: v1alpha1.Resources{Cpus: resource.NewMilliQuantity(100, resource.DecimalSI)},
		Container: v1alpha1.Container{Image: "oci:/var/lib/images/busybox", Command: []string{"echo", "hello"}},
	}
	var decisions []sdk.Decision
	for _, o := range offers {
		if !h.launched && sdk.Fits(&o, tmpl.Resources) {
			h.launched = true
			task := sdk.NewTask(sdk.TaskName("hello", "0"), tmpl)
			decisions = append(decisions, sdk.Launch{Offers: []string{o.Name}, Tasks: []v1alpha1.Task{task}})
			continue
		}
		decisions = append(decisions, sdk.Decline{Offer: o.Name, RefuseSeconds: sdk.Seconds(60)})
	}
	if h.launched {
		d.Suppress()
	}
	return decisions
}

func (h *hello) StatusUpdate(_ context.Context, _ *sdk.Driver, t *v1alpha1.Task) {
	fmt.Println(t.Name, t.Status.State)
	if t.Name == "hello-0" && t.IsTerminal() {
		h.launched = t.Status.State == v1alpha1.TaskFinished // retry otherwise
	}
}

// A framework is a Scheduler given to a Driver, here in a controller-runtime
// manager. Restarting the program resumes the same framework: the Framework and
// its tasks survive, and StatusUpdate is called for each task again.
func Example() {
	cfg := ctrl.GetConfigOrDie()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: sdk.Scheme()})
	if err != nil {
		panic(err)
	}
	fw := sdk.Framework{Name: "hello", Namespace: "default"}
	if _, err := sdk.Register(mgr, fw, &hello{}); err != nil {
		panic(err)
	}
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		panic(err)
	}
}

// Pack tasks on offers of one node, and keep a spread constraint.
func ExampleNodeOffers() {
	offers := []v1alpha1.Offer{
		offer("o1", "node-a", "rack-1", "1", "1Gi"),
		offer("o2", "node-a", "rack-1", "0.5", "512Mi"),
		offer("o3", "node-b", "rack-2", "2", "2Gi"),
	}
	running := []sdk.Placement{{Node: "node-c", Attributes: map[string]string{"rack": "rack-1"}}}
	spread := []v1alpha1.Constraint{{"rack", v1alpha1.ConstraintMaxPer, "2"}}
	tmpl := v1alpha1.TaskTemplate{Resources: v1alpha1.Resources{Cpus: resource.NewQuantity(1, resource.DecimalSI)}}
	for _, n := range sdk.GroupByNode(offers) {
		placed := append([]sdk.Placement(nil), running...)
		for i := 0; ; i++ {
			if err := sdk.Satisfies(spread, n.Placement(), placed); err != nil {
				fmt.Println(err)
				break
			}
			if err := n.Add(sdk.NewTask(sdk.TaskName("web", n.Node, fmt.Sprint(i)), tmpl)); err != nil {
				fmt.Println(err)
				break
			}
			placed = append(placed, n.Placement())
		}
		l, _ := n.Launch()
		fmt.Println(n.Node, l.Offers, len(l.Tasks), "tasks")
	}
	// Output:
	// [rack, MAX_PER, 2]: 2 tasks run on rack=rack-1 already
	// node-a [o1 o2] 1 tasks
	// [rack, MAX_PER, 2]: 2 tasks run on rack=rack-2 already
	// node-b [o3] 2 tasks
}

func offer(name, node, rack, cpus, mem string) v1alpha1.Offer {
	o := v1alpha1.Offer{}
	o.Name = name
	o.Spec.NodeName = node
	o.Spec.Attributes = map[string]string{"rack": rack}
	c, m := resource.MustParse(cpus), resource.MustParse(mem)
	o.Spec.Resources = v1alpha1.Resources{Cpus: &c, Mem: &m}
	return o
}
