package jobs

import (
	"context"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/sdk"
)

// reconcileRun runs a Job without a schedule: it plans from the job's tasks,
// kills what must stop, hands the tasks to launch to the namespace's
// framework, and writes the status.
func (r *Controller) reconcileRun(ctx context.Context, job *v1alpha1.Job) (reconcile.Result, error) {
	now := r.now()
	tasks, err := r.tasksOf(ctx, job)
	if err != nil {
		return reconcile.Result{}, err
	}
	refs := make([]taskRef, 0, len(tasks))
	byName := map[string]*v1alpha1.Task{}
	for i := range tasks {
		if ref, ok := refOf(tasks[i]); ok {
			refs = append(refs, ref)
			byName[ref.name] = tasks[i]
		}
	}
	var started *time.Time
	if job.Status.StartTime != nil {
		started = &job.Status.StartTime.Time
	}
	p := planRun(specOf(&job.Spec), refs, job.IsFinished(), started, now, r.opts.Backoff)

	for _, name := range p.kill {
		if err := r.kill(ctx, byName[name]); err != nil {
			return reconcile.Result{}, err
		}
	}
	if err := r.queueLaunches(ctx, job, p.launches); err != nil {
		return reconcile.Result{}, err
	}
	st := runStatus(job, p, now)
	if err := r.patchStatus(ctx, job, st); err != nil {
		return reconcile.Result{}, err
	}
	if len(p.launches) > 0 || p.requeueAfter > 0 {
		log.FromContext(ctx).V(1).Info("Job planned", "launches", len(p.launches), "active", p.active,
			"succeeded", p.succeeded, "failed", p.failed, "requeueAfter", p.requeueAfter)
	}
	if p.requeueAfter > 0 {
		// A second more, as API times are whole seconds.
		return reconcile.Result{RequeueAfter: p.requeueAfter + time.Second}, nil
	}
	return reconcile.Result{}, nil
}

// queueLaunches gives the namespace's framework the tasks to launch for job;
// none removes the job from it. A framework is started only to launch.
func (r *Controller) queueLaunches(ctx context.Context, job *v1alpha1.Job, launches []launch) error {
	if len(launches) == 0 {
		if q, ok := r.fws.Existing(job.Namespace); ok {
			q.Delete(job.Name)
		}
		return nil
	}
	q, err := r.fws.Get(ctx, job.Namespace)
	if err != nil {
		return err
	}
	g := sdk.Group{Tasks: make([]v1alpha1.Task, 0, len(launches))}
	for _, l := range launches {
		g.Tasks = append(g.Tasks, taskFor(job, l))
	}
	q.Set(job.Name, g)
	return nil
}

// tasksOf returns the job's tasks (its UID's), and kills the active tasks of
// an older Job of the same name.
func (r *Controller) tasksOf(ctx context.Context, job *v1alpha1.Job) ([]*v1alpha1.Task, error) {
	all, err := r.tasksNamed(client.ObjectKeyFromObject(job))
	if err != nil {
		return nil, err
	}
	out := make([]*v1alpha1.Task, 0, len(all))
	for _, t := range all {
		if t.Labels[LabelJobUID] == string(job.UID) {
			out = append(out, t)
			continue
		}
		if err := r.kill(ctx, t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// taskFor returns the task of job at l's index and attempt, named
// "<job>-<index>-<attempt>". It is told its place in the environment:
// MESETA_JOB_NAME, MESETA_JOB_INDEX and MESETA_JOB_ATTEMPT.
func taskFor(job *v1alpha1.Job, l launch) v1alpha1.Task {
	index, attempt := strconv.Itoa(int(l.index)), strconv.Itoa(int(l.attempt))
	t := sdk.NewTask(sdk.TaskName(job.Name, index, attempt), job.Spec.Template)
	t.Labels = map[string]string{LabelJobUID: string(job.UID), LabelIndex: index, LabelAttempt: attempt}
	t.Annotations = map[string]string{AnnotationJob: job.Name}
	sdk.DefaultEnv(&t, v1alpha1.EnvVar{Name: "MESETA_JOB_NAME", Value: job.Name},
		v1alpha1.EnvVar{Name: "MESETA_JOB_INDEX", Value: index}, v1alpha1.EnvVar{Name: "MESETA_JOB_ATTEMPT", Value: attempt})
	return t
}
