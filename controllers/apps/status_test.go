package apps

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestAppStatus(t *testing.T) {
	spec := appSpec{instances: 3, version: "v1", capacity: capacity{required: 2, minHealthy: 2, maxTotal: 3}}
	started := metav1.NewTime(t0.Add(-time.Hour))
	app := func(mutate func(*v1alpha1.App)) *v1alpha1.App {
		a := &v1alpha1.App{}
		a.Generation = 4
		if mutate != nil {
			mutate(a)
		}
		return a
	}
	cond := func(st v1alpha1.AppStatus, typ string) metav1.Condition {
		c := meta.FindStatusCondition(st.Conditions, typ)
		if c == nil {
			return metav1.Condition{}
		}
		return *c
	}
	tests := []struct {
		name  string
		app   *v1alpha1.App
		plan  appPlan
		why   *explanation
		check func(g Gomega, st v1alpha1.AppStatus)
	}{
		{
			name: "complete deployment",
			app:  app(nil),
			plan: appPlan{counts: counts{existing: 3, running: 3, healthy: 3, updated: 3, updatedHealthy: 3}},
			check: func(g Gomega, st v1alpha1.AppStatus) {
				g.Expect([]int32{st.Instances, st.Running, st.Healthy, st.Staged}).To(Equal([]int32{3, 3, 3, 0}))
				g.Expect(st.ObservedGeneration).To(Equal(int64(4)))
				g.Expect(st.Deployment.ID).To(Equal("v1"))
				g.Expect(st.Deployment.Phase).To(Equal(v1alpha1.DeploymentComplete))
				g.Expect(st.Deployment.StartedAt.Time).To(Equal(t0))
				g.Expect(cond(st, "Available").Status).To(Equal(metav1.ConditionTrue))
				g.Expect(cond(st, "Progressing").Status).To(Equal(metav1.ConditionFalse))
				g.Expect(cond(st, "Progressing").Reason).To(Equal(v1alpha1.AppDeploymentCompleteReason))
				g.Expect(cond(st, "Placed").Reason).To(Equal(v1alpha1.AppAllPlacedReason))
			},
		},
		{
			name: "a deployment in progress keeps its start",
			app: app(func(a *v1alpha1.App) {
				a.Status.Deployment = &v1alpha1.AppDeployment{ID: "v1", Phase: v1alpha1.DeploymentProgressing, StartedAt: &started}
			}),
			plan: appPlan{launches: []launch{{5, 0}}, counts: counts{existing: 3, running: 3, healthy: 3, updated: 1, updatedHealthy: 1, old: 2}},
			check: func(g Gomega, st v1alpha1.AppStatus) {
				g.Expect(st.Staged).To(Equal(int32(1)))
				g.Expect(st.Deployment.StartedAt).To(Equal(&started))
				g.Expect(st.Deployment.Updated).To(Equal(int32(1)))
				g.Expect(st.Deployment.Message).To(Equal("1 of 3 instances updated, 1 healthy; 2 old tasks left; waiting for offers: 1 instance to launch"))
				g.Expect(cond(st, "Progressing").Status).To(Equal(metav1.ConditionTrue))
				g.Expect(cond(st, "Placed").Reason).To(Equal(v1alpha1.AppWaitingForOffersReason))
			},
		},
		{
			name: "a new version starts a new deployment",
			app: app(func(a *v1alpha1.App) {
				a.Status.Deployment = &v1alpha1.AppDeployment{ID: "v0", Phase: v1alpha1.DeploymentComplete, StartedAt: &started}
			}),
			plan: appPlan{counts: counts{existing: 3, running: 3, healthy: 3, old: 3}},
			check: func(g Gomega, st v1alpha1.AppStatus) {
				g.Expect(st.Deployment.ID).To(Equal("v1"))
				g.Expect(st.Deployment.StartedAt.Time).To(Equal(t0))
				g.Expect(st.Deployment.Phase).To(Equal(v1alpha1.DeploymentProgressing))
			},
		},
		{
			name: "instances that do not fit say why",
			app:  app(nil),
			plan: appPlan{launches: []launch{{0, 0}, {1, 0}, {2, 0}}},
			why:  &explanation{v1alpha1.AppNoOfferFitsReason, "no offer fits: 3 instances need cpus 4 but the largest offer has cpus 1 (node n0)"},
			check: func(g Gomega, st v1alpha1.AppStatus) {
				g.Expect(st.Staged).To(Equal(int32(3)))
				c := cond(st, "Placed")
				g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(c.Reason).To(Equal(v1alpha1.AppNoOfferFitsReason))
				g.Expect(c.Message).To(Equal("no offer fits: 3 instances need cpus 4 but the largest offer has cpus 1 (node n0)"))
				g.Expect(cond(st, "Available").Reason).To(Equal(v1alpha1.AppInsufficientCapacityReason))
				g.Expect(st.Deployment.Message).To(ContainSubstring("no offer fits"))
			},
		},
		{
			name: "backing off",
			app:  app(nil),
			plan: appPlan{delayed: 1, streak: 3, launchAt: t0.Add(4 * time.Second), requeueAfter: 4 * time.Second,
				counts: counts{existing: 2, running: 2, healthy: 2, updated: 2, updatedHealthy: 2}},
			check: func(g Gomega, st v1alpha1.AppStatus) {
				g.Expect(st.Staged).To(Equal(int32(1)))
				c := cond(st, "Placed")
				g.Expect(c.Reason).To(Equal(v1alpha1.AppBackingOffReason))
				g.Expect(c.Message).To(Equal("1 instance delayed until 2030-01-01T12:00:04Z after 3 failures in a row"))
				g.Expect(cond(st, "Available").Status).To(Equal(metav1.ConditionTrue))
			},
		},
		{
			name: "a version that keeps failing fails its deployment",
			app:  app(nil),
			plan: appPlan{delayed: 1, streak: 3, failing: 3, launchAt: t0.Add(4 * time.Second), requeueAfter: 4 * time.Second,
				lastFailure: &taskRef{name: "web.4", version: "v1", state: v1alpha1.TaskFailed, exitCode: ptr.To[int32](1), message: "exited with code 1"},
				counts:      counts{existing: 2, running: 2, healthy: 2, updated: 2, updatedHealthy: 2}},
			check: func(g Gomega, st v1alpha1.AppStatus) {
				g.Expect(st.Deployment.Phase).To(Equal(v1alpha1.DeploymentFailed))
				g.Expect(st.Deployment.Message).To(Equal("2 of 3 instances updated, 2 healthy; version v1 failed 3 times in a row, " +
					"last: task web.4 Failed (exit code 1): exited with code 1; relaunching with backoff"))
				c := cond(st, "Progressing")
				g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
				g.Expect(c.Reason).To(Equal(v1alpha1.AppDeploymentFailedReason))
				g.Expect(c.Message).To(HavePrefix("deployment v1 failed: 2 of 3 instances updated"))
				g.Expect(cond(st, "Placed").Reason).To(Equal(v1alpha1.AppBackingOffReason), "Placed still says when the next launch comes")
			},
		},
		{
			name: "fewer failures in a row: still progressing, an old version's failure not named",
			app:  app(nil),
			plan: appPlan{delayed: 1, streak: 2, failing: 2, lastFailure: &taskRef{name: "web.1", version: "v0", state: v1alpha1.TaskFailed},
				counts: counts{existing: 2, running: 2, healthy: 2, updated: 2, updatedHealthy: 2}},
			check: func(g Gomega, st v1alpha1.AppStatus) {
				g.Expect(st.Deployment.Phase).To(Equal(v1alpha1.DeploymentProgressing))
				g.Expect(lastFailureOf("v1", &taskRef{name: "web.1", version: "v0"})).To(BeEmpty())
				g.Expect(lastFailureOf("v1", &taskRef{name: "web.2", version: "v1", state: v1alpha1.TaskLost, reason: "AgentLost"})).
					To(Equal(", last: task web.2 Lost (AgentLost)"))
			},
		},
		{
			name: "every instance healthy: complete, whatever streak a relaunch carries",
			app:  app(nil),
			plan: appPlan{failing: 3, counts: counts{existing: 3, running: 3, healthy: 3, updated: 3, updatedHealthy: 3}},
			check: func(g Gomega, st v1alpha1.AppStatus) {
				g.Expect(st.Deployment.Phase).To(Equal(v1alpha1.DeploymentComplete))
			},
		},
		{
			name: "the last failure is recorded and kept once its task is gone",
			app: app(func(a *v1alpha1.App) {
				a.Status.LastTaskFailure = &v1alpha1.TaskFailure{Task: "web.0", State: v1alpha1.TaskFailed, Time: &started}
			}),
			plan: appPlan{counts: counts{existing: 3, running: 3, healthy: 3, updated: 3, updatedHealthy: 3}},
			check: func(g Gomega, st v1alpha1.AppStatus) {
				g.Expect(st.LastTaskFailure.Task).To(Equal("web.0"))
			},
		},
		{
			name: "a newer failure replaces it",
			app: app(func(a *v1alpha1.App) {
				a.Status.LastTaskFailure = &v1alpha1.TaskFailure{Task: "web.0", State: v1alpha1.TaskFailed, Time: &started}
			}),
			plan: appPlan{lastFailure: &taskRef{name: "web.7", state: v1alpha1.TaskFailed, reason: v1alpha1.ReasonCommandExecutorFailed,
				message: "exited 1", exitCode: new(int32(1)), finishedAt: t0}},
			check: func(g Gomega, st v1alpha1.AppStatus) {
				g.Expect(*st.LastTaskFailure).To(Equal(v1alpha1.TaskFailure{Task: "web.7", State: v1alpha1.TaskFailed,
					Reason: v1alpha1.ReasonCommandExecutorFailed, Message: "exited 1", ExitCode: new(int32(1)), Time: new(metav1.NewTime(t0))}))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(NewWithT(t), appStatus(tt.app, spec, tt.plan, tt.why, t0))
		})
	}
}
