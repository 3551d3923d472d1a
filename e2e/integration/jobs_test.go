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
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/controllers/jobs"
	"meseta.dev/meseta/controllers/offers"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/master/mastertest"
	"meseta.dev/meseta/pkg/resources"
)

// startJobs starts a master running only the jobs framework (with short
// backoffs), and a fake cluster for namespace ns that plays the allocator,
// the binder and an agent.
func startJobs(t *testing.T, ns string) (*sdkEnv, *fakeCluster) {
	setup := func(mgr ctrl.Manager, _ master.SchedulingOptions) error {
		o := jobs.DefaultOptions()
		o.Backoff = jobs.Backoff{Initial: 300 * time.Millisecond, Max: 2 * time.Second}
		_, err := jobs.New(mgr, o)
		return err
	}
	e := startSDKEnv(t, setup)
	e.namespace(ns)
	return e, e.startFakeCluster(ns, "node-1", "cpus:4;mem:4Gi")
}

func newJob(ns, name, command string, mutate func(*v1alpha1.JobSpec)) *v1alpha1.Job {
	j := &v1alpha1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	j.Spec.Template = v1alpha1.TaskTemplate{
		Resources: resources.MustParse("cpus:0.5;mem:64Mi").ToAPI(),
		Container: v1alpha1.Container{Command: []string{"sh", "-c", command}},
	}
	if mutate != nil {
		mutate(&j.Spec)
	}
	return j
}

func getJob(g Gomega, c client.Client, ns, name string) *v1alpha1.Job {
	j := &v1alpha1.Job{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, j)).To(Succeed())
	return j
}

func jobTasks(e *sdkEnv, ns, job string) []string {
	var out []v1alpha1.Task
	for _, t := range e.tasks(ns) {
		if t.Annotations[jobs.AnnotationJob] == job {
			out = append(out, t)
		}
	}
	return taskNames(out)
}

// TestJobsCompleteAndFail: a Job of 5 completions with parallelism 2
// completes with at most 2 tasks at once; a failing Job retries backoffLimit
// times and fails; both share one Framework, which goes with the last Job.
func TestJobsCompleteAndFail(t *testing.T) {
	const ns = "jobs-a"
	e, cluster := startJobs(t, ns)
	g := NewWithT(t)
	ctx := context.Background()

	g.Expect(e.c.Create(ctx, newJob(ns, "five", "echo ok", func(s *v1alpha1.JobSpec) {
		s.Completions, s.Parallelism, s.BackoffLimit = ptr.To[int32](5), ptr.To[int32](2), ptr.To[int32](3)
	}))).To(Succeed())
	g.Expect(e.c.Create(ctx, newJob(ns, "bad", "echo no; exit 1", func(s *v1alpha1.JobSpec) {
		s.BackoffLimit = ptr.To[int32](2)
	}))).To(Succeed())

	g.Eventually(func(g Gomega) {
		j := getJob(g, e.c, ns, "five")
		g.Expect(meta.IsStatusConditionTrue(j.Status.Conditions, v1alpha1.JobCompleteCondition)).To(BeTrue(), "%+v", j.Status)
		g.Expect([]int32{j.Status.Succeeded, j.Status.Failed, j.Status.Active}).To(Equal([]int32{5, 0, 0}))
		g.Expect(j.Status.StartTime).NotTo(BeNil())
		g.Expect(j.Status.CompletionTime).NotTo(BeNil())
		g.Expect(j.Status.ObservedGeneration).To(Equal(j.Generation))
	}).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	g.Expect(jobTasks(e, ns, "five")).To(Equal([]string{"five-0-0", "five-1-0", "five-2-0", "five-3-0", "five-4-0"}))
	g.Expect(cluster.mostActive("five")).To(BeNumerically("<=", 2))
	g.Expect(cluster.mostActive("five")).To(BeNumerically(">=", 1))

	g.Eventually(func(g Gomega) {
		j := getJob(g, e.c, ns, "bad")
		c := meta.FindStatusCondition(j.Status.Conditions, v1alpha1.JobFailedCondition)
		g.Expect(c).NotTo(BeNil(), "%+v", j.Status)
		g.Expect(c.Reason).To(Equal(v1alpha1.JobBackoffLimitExceededReason))
		g.Expect([]int32{j.Status.Succeeded, j.Status.Failed, j.Status.Active}).To(Equal([]int32{0, 3, 0}))
	}).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	g.Expect(jobTasks(e, ns, "bad")).To(Equal([]string{"bad-0-0", "bad-0-1", "bad-0-2"}), "backoffLimit retries, no more")

	fw := getFramework(g, e.c, ns, jobs.DefaultFrameworkName)
	g.Expect(fw.Spec.Suppressed).To(BeTrue(), "nothing left to launch")
	launched := cluster.launches()
	g.Consistently(cluster.launches).WithTimeout(2*time.Second).Should(Equal(launched), "finished jobs launch nothing")

	g.Expect(e.c.Delete(ctx, getJob(g, e.c, ns, "five"))).To(Succeed())
	g.Consistently(func(g Gomega) { getFramework(g, e.c, ns, jobs.DefaultFrameworkName) }).WithTimeout(time.Second).Should(Succeed(), "a job is left")
	g.Expect(e.c.Delete(ctx, getJob(g, e.c, ns, "bad"))).To(Succeed())
	g.Eventually(func() bool {
		err := e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: jobs.DefaultFrameworkName}, &v1alpha1.Framework{})
		return apierrors.IsNotFound(err)
	}).WithTimeout(20*time.Second).Should(BeTrue(), "the framework goes with the last job")
}

// TestJobsSuspendAndDeadline: suspending a Job kills its task and resuming
// launches it again; a Job past its activeDeadlineSeconds fails and its task
// is killed; deleting a Job kills its tasks.
func TestJobsSuspendAndDeadline(t *testing.T) {
	const ns = "jobs-b"
	e, _ := startJobs(t, ns)
	g := NewWithT(t)
	ctx := context.Background()

	g.Expect(e.c.Create(ctx, newJob(ns, "sleeper", "sleep 1000", nil))).To(Succeed())
	running := func(name string) func(g Gomega) {
		return func(g Gomega) {
			task := &v1alpha1.Task{}
			g.Expect(e.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, task)).To(Succeed())
			g.Expect(task.Status.State).To(Equal(v1alpha1.TaskRunning))
		}
	}
	g.Eventually(running("sleeper-0-0")).WithTimeout(30 * time.Second).Should(Succeed())

	j := getJob(g, e.c, ns, "sleeper")
	j.Spec.Suspend = true
	g.Expect(e.c.Update(ctx, j)).To(Succeed())
	g.Eventually(func(g Gomega) {
		j := getJob(g, e.c, ns, "sleeper")
		g.Expect(meta.IsStatusConditionTrue(j.Status.Conditions, v1alpha1.JobSuspendedCondition)).To(BeTrue())
		g.Expect(j.Status.Active).To(BeZero())
		g.Expect(j.Status.StartTime).To(BeNil())
		g.Expect(jobTasks(e, ns, "sleeper")).To(BeEmpty(), "the task was killed")
	}).WithTimeout(20 * time.Second).Should(Succeed())

	j = getJob(g, e.c, ns, "sleeper")
	j.Spec.Suspend = false
	g.Expect(e.c.Update(ctx, j)).To(Succeed())
	g.Eventually(running("sleeper-0-0")).WithTimeout(30 * time.Second).Should(Succeed())
	g.Eventually(func(g Gomega) {
		j := getJob(g, e.c, ns, "sleeper")
		c := meta.FindStatusCondition(j.Status.Conditions, v1alpha1.JobSuspendedCondition)
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal(v1alpha1.JobResumedReason))
		g.Expect(j.Status.Failed).To(BeZero(), "killed by suspend is no failure")
	}).WithTimeout(10 * time.Second).Should(Succeed())

	g.Expect(e.c.Create(ctx, newJob(ns, "late", "sleep 1000", func(s *v1alpha1.JobSpec) {
		s.ActiveDeadlineSeconds = ptr.To[int64](2)
	}))).To(Succeed())
	g.Eventually(func(g Gomega) {
		j := getJob(g, e.c, ns, "late")
		c := meta.FindStatusCondition(j.Status.Conditions, v1alpha1.JobFailedCondition)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(v1alpha1.JobDeadlineExceededReason))
		g.Expect(jobTasks(e, ns, "late")).To(BeEmpty(), "its task was killed")
	}).WithTimeout(30 * time.Second).Should(Succeed())

	g.Expect(e.c.Delete(ctx, getJob(g, e.c, ns, "sleeper"))).To(Succeed())
	g.Eventually(func() []string { return jobTasks(e, ns, "sleeper") }).WithTimeout(20 * time.Second).Should(BeEmpty())
}

// TestJobsSchedule: a scheduled Job starts runs (child Jobs) on its schedule
// and keeps its history limit; Forbid never runs two at once; Replace
// replaces the active run.
func TestJobsSchedule(t *testing.T) {
	const ns = "jobs-c"
	e, _ := startJobs(t, ns)
	g := NewWithT(t)
	ctx := context.Background()

	g.Expect(e.c.Create(ctx, newJob(ns, "tick", "echo tick", func(s *v1alpha1.JobSpec) {
		s.Schedule = "*/2 * * * * *" // every 2 seconds
		s.SuccessfulJobsHistoryLimit = ptr.To[int32](1)
	}))).To(Succeed())
	g.Expect(e.c.Create(ctx, newJob(ns, "forbid", "sleep 1000", func(s *v1alpha1.JobSpec) {
		s.Schedule = "@every 1s"
		s.ConcurrencyPolicy = v1alpha1.ForbidConcurrent
	}))).To(Succeed())
	g.Expect(e.c.Create(ctx, newJob(ns, "replace", "sleep 1000", func(s *v1alpha1.JobSpec) {
		s.Schedule = "*/3 * * * * *"
		s.ConcurrencyPolicy = v1alpha1.ReplaceConcurrent
	}))).To(Succeed())

	runsOf := func(g Gomega, parent *v1alpha1.Job) []v1alpha1.Job {
		list := &v1alpha1.JobList{}
		g.Expect(e.c.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{jobs.LabelScheduledBy: string(parent.UID)})).To(Succeed())
		return list.Items
	}
	var firstSuccess time.Time
	g.Eventually(func(g Gomega) {
		tick := getJob(g, e.c, ns, "tick")
		g.Expect(tick.Status.LastSuccessfulTime).NotTo(BeNil())
		firstSuccess = tick.Status.LastSuccessfulTime.Time
	}).WithTimeout(40 * time.Second).Should(Succeed())
	g.Eventually(func(g Gomega) {
		tick := getJob(g, e.c, ns, "tick")
		g.Expect(tick.Status.LastSuccessfulTime.Time).To(BeTemporally(">", firstSuccess), "runs again")
		g.Expect(tick.Status.LastScheduleTime).NotTo(BeNil())
		complete := 0
		for _, r := range runsOf(g, tick) {
			g.Expect(r.Spec.Schedule).To(BeEmpty())
			if meta.IsStatusConditionTrue(r.Status.Conditions, v1alpha1.JobCompleteCondition) {
				complete++
			}
		}
		g.Expect(complete).To(Equal(1), "successfulJobsHistoryLimit")
	}).WithTimeout(40 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())

	forbid := getJob(g, e.c, ns, "forbid")
	g.Eventually(func(g Gomega) []v1alpha1.Job { return runsOf(g, forbid) }).WithTimeout(20 * time.Second).Should(HaveLen(1))
	g.Consistently(func(g Gomega) {
		g.Expect(runsOf(g, forbid)).To(HaveLen(1))
		g.Expect(getJob(g, e.c, ns, "forbid").Status.ActiveRuns).To(HaveLen(1))
	}).WithTimeout(4 * time.Second).Should(Succeed())

	replace := getJob(g, e.c, ns, "replace")
	var first string
	g.Eventually(func(g Gomega) {
		runs := runsOf(g, replace)
		g.Expect(runs).NotTo(BeEmpty())
		first = runs[0].Name
	}).WithTimeout(20 * time.Second).Should(Succeed())
	g.Eventually(func(g Gomega) {
		var names []string
		for _, r := range runsOf(g, replace) {
			if r.DeletionTimestamp == nil {
				names = append(names, r.Name)
			}
		}
		g.Expect(names).To(HaveLen(1))
		g.Expect(names[0]).NotTo(Equal(first))
	}).WithTimeout(20 * time.Second).Should(Succeed())

	g.Expect(e.c.Delete(ctx, replace)).To(Succeed())
	g.Expect(e.c.Delete(ctx, forbid)).To(Succeed())
	g.Eventually(func() []v1alpha1.Task {
		var left []v1alpha1.Task
		for _, t := range e.tasks(ns) {
			if !t.IsTerminal() {
				left = append(left, t)
			}
		}
		return left
	}).WithTimeout(30*time.Second).Should(BeEmpty(), "runs are deleted with their parent, and their tasks killed")
}

// TestJobsWithOffersController runs the jobs framework against the master's
// real offer and binding controllers; the test plays the framework lifecycle
// controller (marking frameworks Active) and the agent (running bound tasks).
func TestJobsWithOffersController(t *testing.T) {
	const ns = "jobs-d"
	jobsSetup := func(mgr ctrl.Manager, _ master.SchedulingOptions) error {
		_, err := jobs.New(mgr, jobs.DefaultOptions())
		return err
	}
	sched := master.SchedulingOptions{AllocationInterval: 200 * time.Millisecond, NodeTimeout: 75 * time.Second, MinAllocatable: "cpus:0.01;mem:32Mi"}
	m := mastertest.Start(t, mastertest.Options{Controllers: []master.ControllerSetup{offers.Setup, jobsSetup}, Scheduling: &sched})
	e := &sdkEnv{t: t, m: m, c: m.Client(t)}
	e.namespace(ns)
	g := NewWithT(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	node := &v1alpha1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}
	g.Expect(e.c.Create(ctx, node)).To(Succeed())
	alloc := resources.MustParse("cpus:1;mem:1Gi").ToAPI()
	node.Status.Capacity, node.Status.Allocatable, node.Status.Hostname = alloc, alloc, "node-1"
	node.Status.Conditions = []metav1.Condition{{Type: v1alpha1.NodeReadyCondition, Status: metav1.ConditionTrue,
		Reason: v1alpha1.NodeAgentReadyReason, LastTransitionTime: metav1.Now()}}
	g.Expect(e.c.Status().Update(ctx, node)).To(Succeed())

	go func() {
		for ctx.Err() == nil {
			playLifecycleAndAgent(ctx, e.c, ns)
			time.Sleep(100 * time.Millisecond)
		}
	}()

	g.Expect(e.c.Create(ctx, newJob(ns, "real", "echo ok", func(s *v1alpha1.JobSpec) {
		s.Completions, s.Parallelism = ptr.To[int32](4), ptr.To[int32](2)
	}))).To(Succeed())
	g.Eventually(func(g Gomega) {
		j := getJob(g, e.c, ns, "real")
		g.Expect(meta.IsStatusConditionTrue(j.Status.Conditions, v1alpha1.JobCompleteCondition)).To(BeTrue(), "%+v", j.Status)
		g.Expect([]int32{j.Status.Succeeded, j.Status.Failed}).To(Equal([]int32{4, 0}))
	}).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	for _, task := range e.tasks(ns) {
		g.Expect(task.Spec.NodeName).To(Equal("node-1"))
		g.Expect(task.Status.State).To(Equal(v1alpha1.TaskFinished), "no task was dropped: %s %s", task.Name, task.Status.Reason)
	}
	g.Expect(jobTasks(e, ns, "real")).To(Equal([]string{"real-0-0", "real-1-0", "real-2-0", "real-3-0"}))
	g.Eventually(func(g Gomega) {
		g.Expect(getFramework(g, e.c, ns, jobs.DefaultFrameworkName).Spec.Suppressed).To(BeTrue())
	}).WithTimeout(10 * time.Second).Should(Succeed())
}

// playLifecycleAndAgent marks the frameworks of ns Active (or Suppressed) as
// the framework lifecycle controller does while their Lease is fresh, and
// runs their bound tasks to Finished as an agent does.
func playLifecycleAndAgent(ctx context.Context, c client.Client, ns string) {
	fws := &v1alpha1.FrameworkList{}
	if c.List(ctx, fws, client.InNamespace(ns)) == nil {
		for i := range fws.Items {
			fw := &fws.Items[i]
			phase := v1alpha1.FrameworkActive
			if fw.Spec.Suppressed {
				phase = v1alpha1.FrameworkSuppressed
			}
			if fw.Status.Phase != phase {
				fw.Status.Phase, fw.Status.Role = phase, fw.EffectiveRole()
				_ = c.Status().Update(ctx, fw)
			}
		}
	}
	tasks := &v1alpha1.TaskList{}
	if c.List(ctx, tasks, client.InNamespace(ns)) != nil {
		return
	}
	for i := range tasks.Items {
		t := &tasks.Items[i]
		switch {
		case !t.IsBound() || t.IsTerminal():
			continue
		case t.Status.State == v1alpha1.TaskRunning:
			setTaskState(t, v1alpha1.TaskFinished, ptr.To[int32](0))
		default:
			setTaskState(t, v1alpha1.TaskRunning, nil)
		}
		_ = c.Status().Update(ctx, t)
	}
}
