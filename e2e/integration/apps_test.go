package integration

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/controllers/apps"
	"meseta.dev/meseta/pkg/resources"
)

func newApp(ns, name string, instances int32, res string, mutate func(*v1alpha1.AppSpec)) *v1alpha1.App {
	a := &v1alpha1.App{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	a.Spec.Instances = ptr.To(instances)
	a.Spec.Template = v1alpha1.TaskTemplate{
		Resources:   resources.MustParse(res).ToAPI(),
		Container:   v1alpha1.Container{Command: []string{"httpd", "-f", "-p", "8080"}},
		HealthCheck: &v1alpha1.HealthCheck{Type: v1alpha1.HealthCheckCommand, Command: []string{"true"}},
	}
	a.Spec.Backoff = &v1alpha1.Backoff{InitialSeconds: ptr.To[int32](1), MaxSeconds: ptr.To[int32](2)}
	if mutate != nil {
		mutate(&a.Spec)
	}
	return a
}

// TestAppsLifecycle runs the apps framework against the master's real offer
// and binding controllers on three nodes: an App of 3 instances, one per
// node, reaches 3 healthy tasks; a failed task is replaced; a template change
// rolls without dropping below minimumHealthCapacity or going over
// maximumOverCapacity (checked in the agent's recorded history); Apps that
// cannot be placed say why; scaling down kills tasks; a version that keeps
// failing fails its deployment until a relaunch runs; deleting Apps leaves no
// task and removes the framework.
func TestAppsLifecycle(t *testing.T) {
	const ns = "apps-a"
	e, agent := startApps(t, ns, []string{"node-1", "node-2", "node-3"}, "cpus:1;mem:1Gi")
	g := NewWithT(t)
	ctx := context.Background()

	web := newApp(ns, "web", 3, "cpus:0.25;mem:64Mi", func(s *v1alpha1.AppSpec) {
		s.Constraints = []v1alpha1.Constraint{{"hostname", "UNIQUE"}}
		s.UpgradeStrategy = &v1alpha1.UpgradeStrategy{MinimumHealthCapacity: ptr.To[int32](66), MaximumOverCapacity: ptr.To[int32](0)}
	})
	g.Expect(e.c.Create(ctx, web)).To(Succeed())
	healthy := func(version string) func(g Gomega) {
		return func(g Gomega) {
			app := getApp(g, e.c, ns, "web")
			g.Expect([]int32{app.Status.Instances, app.Status.Running, app.Status.Healthy}).To(Equal([]int32{3, 3, 3}), "%+v", app.Status)
			g.Expect(app.Status.Deployment.Phase).To(Equal(v1alpha1.DeploymentComplete))
			if version != "" {
				g.Expect(app.Status.Deployment.ID).To(Equal(version))
			}
			g.Expect(meta.IsStatusConditionTrue(app.Status.Conditions, v1alpha1.AppAvailableCondition)).To(BeTrue())
			g.Expect(meta.IsStatusConditionFalse(app.Status.Conditions, v1alpha1.AppProgressingCondition)).To(BeTrue())
			nodes := map[string]bool{}
			for _, task := range appTasks(e, ns, "web") {
				nodes[task.Spec.NodeName] = true
				if version != "" {
					g.Expect(task.Labels[apps.LabelVersion]).To(Equal(version))
				}
			}
			g.Expect(nodes).To(HaveLen(3), "one per node")
		}
	}
	g.Eventually(healthy("")).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	g.Expect(getApp(g, e.c, ns, "web").Finalizers).To(ContainElement(v1alpha1.AppFinalizer))

	// A task that fails is replaced, after the backoff, by a new task.
	var victim string
	for name := range appTasks(e, ns, "web") {
		victim = name
		break
	}
	e.setState(ns, victim, v1alpha1.TaskFailed, ptr.To[int32](1))
	g.Eventually(func(g Gomega) {
		tasks := appTasks(e, ns, "web")
		g.Expect(tasks).NotTo(HaveKey(victim))
		g.Expect(tasks).To(HaveLen(3))
		app := getApp(g, e.c, ns, "web")
		g.Expect(app.Status.LastTaskFailure).NotTo(BeNil())
		g.Expect(app.Status.LastTaskFailure.Task).To(Equal(victim))
		g.Expect(app.Status.LastTaskFailure.ExitCode).To(Equal(ptr.To[int32](1)))
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	g.Eventually(healthy("")).WithTimeout(30 * time.Second).Should(Succeed())

	// A template change rolls the instances one at a time: 66% of 3 keeps 2
	// healthy, 0% over capacity allows no fourth task.
	mark := agent.mark()
	app := getApp(g, e.c, ns, "web")
	old := app.Status.Deployment.ID
	app.Spec.Template.Container.Env = []v1alpha1.EnvVar{{Name: "VERSION", Value: "2"}}
	g.Expect(e.c.Update(ctx, app)).To(Succeed())
	var version string
	g.Eventually(func(g Gomega) {
		version = getApp(g, e.c, ns, "web").Status.Deployment.ID
		g.Expect(version).NotTo(Equal(old))
	}).WithTimeout(10 * time.Second).Should(Succeed())
	g.Eventually(healthy(version)).WithTimeout(90 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	history := agent.since("web", mark)
	g.Expect(history).NotTo(BeEmpty())
	for i, s := range history {
		g.Expect(s.serving).To(BeNumerically(">=", 2), "sample %d of %d: fewer healthy than minimumHealthCapacity", i, len(history))
		g.Expect(s.existing).To(BeNumerically("<=", 3), "sample %d of %d: more tasks than maximumOverCapacity", i, len(history))
	}

	// Apps that cannot be placed say why.
	g.Expect(e.c.Create(ctx, newApp(ns, "huge", 2, "cpus:4;mem:64Mi", nil))).To(Succeed())
	g.Expect(e.c.Create(ctx, newApp(ns, "spread", 4, "cpus:0.1;mem:32Mi", func(s *v1alpha1.AppSpec) {
		s.Constraints = []v1alpha1.Constraint{{"hostname", "UNIQUE"}}
	}))).To(Succeed())
	placed := func(name string) func(g Gomega) metav1.Condition {
		return func(g Gomega) metav1.Condition {
			c := meta.FindStatusCondition(getApp(g, e.c, ns, name).Status.Conditions, v1alpha1.AppPlacedCondition)
			g.Expect(c).NotTo(BeNil())
			return *c
		}
	}
	g.Eventually(placed("huge")).WithTimeout(30 * time.Second).Should(And(
		HaveField("Status", metav1.ConditionFalse), HaveField("Reason", v1alpha1.AppNoOfferFitsReason),
		HaveField("Message", MatchRegexp(`^no offer fits: 2 instances need cpus 4 but the largest offer has cpus 0\.[0-9]+ \(node node-[123]\)$`))))
	g.Expect(getApp(g, e.c, ns, "huge").Status.Staged).To(Equal(int32(2)))
	g.Eventually(placed("spread")).WithTimeout(30 * time.Second).Should(And(
		HaveField("Reason", v1alpha1.AppConstraintNotMetReason),
		HaveField("Message", "constraint [hostname, UNIQUE] cannot be met: 4 instances, 3 nodes")))
	spreadTasks := func() int { return len(appTasks(e, ns, "spread")) }
	g.Eventually(spreadTasks).WithTimeout(10 * time.Second).Should(Equal(3))
	g.Consistently(spreadTasks).WithTimeout(2*time.Second).Should(Equal(3), "one per node, no more")

	// Scaling down kills the extra tasks.
	app = getApp(g, e.c, ns, "web")
	app.Spec.Instances = ptr.To[int32](1)
	g.Expect(e.c.Update(ctx, app)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(appTasks(e, ns, "web")).To(HaveLen(1))
		st := getApp(g, e.c, ns, "web").Status
		g.Expect([]int32{st.Instances, st.Healthy}).To(Equal([]int32{1, 1}))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	// A version whose instance fails 3 times in a row fails its deployment
	// while the framework relaunches it (after a 5 s backoff), and the
	// deployment completes once a relaunch runs healthy.
	g.Expect(e.c.Create(ctx, newApp(ns, "crash", 1, "cpus:0.1;mem:32Mi", func(s *v1alpha1.AppSpec) {
		s.Backoff = &v1alpha1.Backoff{InitialSeconds: ptr.To[int32](5), MaxSeconds: ptr.To[int32](5)}
	}))).To(Succeed())
	crashed := map[string]bool{}
	for range apps.DeploymentFailedAfter {
		var running string
		g.Eventually(func(g Gomega) {
			for name, task := range appTasks(e, ns, "crash") {
				if !crashed[name] && task.Status.State == v1alpha1.TaskRunning {
					running = name
				}
			}
			g.Expect(running).NotTo(BeEmpty())
			g.Expect(getApp(g, e.c, ns, "crash").Status.Deployment.Phase).NotTo(Equal(v1alpha1.DeploymentFailed), "failed before %d failures", apps.DeploymentFailedAfter)
		}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
		e.setState(ns, running, v1alpha1.TaskFailed, ptr.To[int32](3))
		crashed[running] = true
	}
	g.Eventually(func(g Gomega) {
		app := getApp(g, e.c, ns, "crash")
		g.Expect(app.Status.Deployment.Phase).To(Equal(v1alpha1.DeploymentFailed))
		g.Expect(app.Status.Deployment.Message).To(MatchRegexp(`failed 3 times in a row, last: task crash\.[0-9]+ Failed \(exit code 3\).*; relaunching with backoff$`))
		c := meta.FindStatusCondition(app.Status.Conditions, v1alpha1.AppProgressingCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect([]string{string(c.Status), c.Reason}).To(Equal([]string{"False", v1alpha1.AppDeploymentFailedReason}))
	}).WithTimeout(5 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getApp(g, e.c, ns, "crash").Status.Deployment.Phase).To(Equal(v1alpha1.DeploymentComplete))
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

	// Deleting the Apps kills all their tasks; the framework goes with them.
	for _, name := range []string{"web", "huge", "spread", "crash"} {
		g.Expect(e.c.Delete(ctx, getApp(g, e.c, ns, name))).To(Succeed())
	}
	g.Eventually(func(g Gomega) {
		g.Expect(e.tasks(ns)).To(BeEmpty())
		list := &v1alpha1.AppList{}
		g.Expect(e.c.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		g.Expect(list.Items).To(BeEmpty())
		err := e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: apps.DefaultFrameworkName}, &v1alpha1.Framework{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
	}).WithTimeout(60 * time.Second).Should(Succeed())
}
