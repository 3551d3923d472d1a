package sdk

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	testingclock "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestPlanLimitsTasksPerLaunch(t *testing.T) {
	g := NewWithT(t)
	offers := []v1alpha1.Offer{mkOffer("a-1", "a", "cpus:1"), mkOffer("b-1", "b", "cpus:1")}
	res := plan([]keyedGroup{group("j", 5, "cpus:0.1")}, GroupByNode(offers),
		QueueOptions{RefuseSeconds: 5, IdleRefuseSeconds: 60, MaxLaunchTasks: 2})
	launched, declined := summarizeDecisions(res.decisions)
	g.Expect(launched).To(Equal(map[string][]string{"a-1": {"j-a", "j-b"}, "b-1": {"j-c", "j-d"}}))
	g.Expect(declined).To(BeEmpty())
	g.Expect(res.waiting).To(Equal(1))
	g.Expect(res.unplaced["j"]).To(Equal("a: a launch carries at most 2 tasks, the rest wait for its next offer; " +
		"b: a launch carries at most 2 tasks, the rest wait for its next offer"))

	res = plan([]keyedGroup{group("j", 5, "cpus:0.1")}, GroupByNode(offers),
		QueueOptions{RefuseSeconds: 5, IdleRefuseSeconds: 60, MaxLaunchTasks: -1})
	launched, _ = summarizeDecisions(res.decisions)
	g.Expect(launched).To(Equal(map[string][]string{"a-1": {"j-a", "j-b", "j-c", "j-d", "j-e"}}), "no limit")
}

func TestNewQueueDefaultsMaxLaunchTasks(t *testing.T) {
	g := NewWithT(t)
	g.Expect(NewQueue(QueueOptions{}).opts.MaxLaunchTasks).To(Equal(DefaultMaxLaunchTasks))
	g.Expect(NewQueue(QueueOptions{MaxLaunchTasks: -1}).opts.MaxLaunchTasks).To(Equal(-1))
}

// A launch the framework never sees is forgotten after launchedTTL; its
// tasks wait again, and a suppressed Queue asks for offers again then, with
// no other event to wake it.
func TestQueueRevivesWhenALaunchIsForgotten(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	clk := testingclock.NewFakeClock(time.Now())
	d := testDriver()
	q := NewQueue(QueueOptions{})
	q.clock = clk
	q.Registered(ctx, d, nil)
	q.Set("j", Group{Tasks: []v1alpha1.Task{mkTask("j-0", "cpus:0.5")}})
	q.ResourceOffers(ctx, d, []v1alpha1.Offer{mkOffer("a-1", "a", "cpus:1")})
	sup, revives := d.wanted()
	g.Expect(sup).To(BeTrue(), "all launched: suppressed")
	g.Expect(revives).To(Equal(1))

	clk.Step(launchedTTL)
	sup, _ = d.wanted()
	g.Expect(sup).To(BeTrue(), "not before launchedTTL has passed")
	clk.Step(2 * time.Second)
	g.Eventually(func() int { _, r := d.wanted(); return r }).Should(Equal(2), "revived once the launch was forgotten")
	sup, _ = d.wanted()
	g.Expect(sup).To(BeFalse())
	g.Expect(q.Waiting()).To(Equal(1))
}

// launchDriver is a Driver whose creates go to a fake client that refuses
// the names in exists with AlreadyExists, and records the rest.
func launchDriver(exists ...string) (*Driver, *[]*v1alpha1.Task) {
	var created []*v1alpha1.Task
	taken := map[string]bool{}
	for _, n := range exists {
		taken[n] = true
	}
	c := fake.NewClientBuilder().WithScheme(Scheme()).WithInterceptorFuncs(interceptor.Funcs{
		Create: func(_ context.Context, _ client.WithWatch, obj client.Object, _ ...client.CreateOption) error {
			if taken[obj.GetName()] {
				return apierrors.NewAlreadyExists(schema.GroupResource{Group: "meseta.dev", Resource: "tasks"}, obj.GetName())
			}
			created = append(created, obj.(*v1alpha1.Task).DeepCopy())
			return nil
		},
	}).Build()
	d := testDriver()
	d.c = c
	d.fw = Framework{Name: "fw", Namespace: "ns"}
	d.now = time.Now
	d.claims, d.known, d.created = map[string]time.Time{}, map[string]*v1alpha1.Task{}, map[string]time.Time{}
	return d, &created
}

func TestLaunchLeavesOutTasksThatExist(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	d, created := launchDriver("seen", "created-before")
	d.known["seen"] = &v1alpha1.Task{}
	d.created["created-before"] = time.Now()
	fw := &v1alpha1.Framework{}
	fw.Name, fw.Namespace, fw.UID = "fw", "ns", "uid-1"

	ok := d.launchAll(ctx, fw, []Launch{
		{Offers: []string{"o-1"}, Tasks: []v1alpha1.Task{mkTask("seen", "cpus:0.1"), mkTask("new-a", "cpus:0.1"), mkTask("created-before", "cpus:0.1"), mkTask("new-b", "cpus:0.1")}},
		{Offers: []string{"o-2"}, Tasks: []v1alpha1.Task{mkTask("seen", "cpus:0.1")}},
	})
	g.Expect(ok).To(Equal([]bool{true, false}), "a launch of tasks that all exist launches nothing")
	g.Expect(*created).To(HaveLen(2))
	for _, task := range *created {
		g.Expect(task.Name).To(BeElementOf("new-a", "new-b"))
		g.Expect(task.Annotations).To(HaveKeyWithValue(v1alpha1.LaunchTasksAnnotation, "2"), "the size counts only the tasks created")
	}
	g.Expect(d.claims).To(HaveKey("o-1"))
	g.Expect(d.claims).NotTo(HaveKey("o-2"), "its offer stays for the next pass")
	g.Expect(d.created).To(HaveKey("new-a"))

	// A launch whose create is refused as existing, unknown to the driver,
	// still reports it as it did.
	d2, created2 := launchDriver("other")
	ok = d2.launchAll(ctx, fw, []Launch{{Offers: []string{"o-3"}, Tasks: []v1alpha1.Task{mkTask("other", "cpus:0.1")}}})
	g.Expect(ok).To(Equal([]bool{false}))
	g.Expect(*created2).To(BeEmpty())
}

func TestDriverRemembersCreatesUntilSeen(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	d, _ := launchDriver()
	c := fake.NewClientBuilder().WithScheme(Scheme()).Build()
	now := time.Now()
	d.now = func() time.Time { return now }
	d.created["young"] = now.Add(-time.Second)
	d.created["waited"] = now.Add(-createdWait - time.Second)
	d.created["old"] = now.Add(-createdMemory - time.Second)
	g.Expect(d.pendingCreates(ctx, c)).To(BeNumerically(">", 0), "waits for a young create")
	g.Expect(d.created).To(HaveKey("young"))
	g.Expect(d.created).To(HaveKey("waited"), "not waited for, still remembered")
	g.Expect(d.created).NotTo(HaveKey("old"))
	g.Expect(d.exists("waited")).To(BeTrue())

	delete(d.created, "young")
	g.Expect(d.pendingCreates(ctx, c)).To(BeZero(), "nothing young to wait for")
	d.removed(ctx, "waited")
	g.Expect(d.exists("waited")).To(BeFalse(), "a deletion seen forgets the create")
}
