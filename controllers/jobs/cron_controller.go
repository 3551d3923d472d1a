package jobs

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
)

// reconcileScheduled runs a Job with a schedule: it trims the history of
// finished runs, starts the run that is due (per the concurrency policy), and
// writes the status; it looks again at the next scheduled time.
func (r *Controller) reconcileScheduled(ctx context.Context, parent *v1alpha1.Job) (reconcile.Result, error) {
	logger := log.FromContext(ctx)
	now := r.now()
	sched, err := parseSchedule(parent.Spec.Schedule)
	if err != nil {
		logger.Error(err, "Invalid schedule")
		return reconcile.Result{}, reconcile.TerminalError(err)
	}
	runs, err := r.runsOf(ctx, parent)
	if err != nil {
		return reconcile.Result{}, err
	}
	refs := make([]runRef, 0, len(runs))
	for i := range runs {
		refs = append(refs, refOfRun(&runs[i]))
	}
	for _, name := range trimHistory(refs, ptr.Deref(parent.Spec.SuccessfulJobsHistoryLimit, 3), ptr.Deref(parent.Spec.FailedJobsHistoryLimit, 1)) {
		logger.Info("Deleting an old run", "run", name)
		if err := r.deleteRun(ctx, parent.Namespace, name); err != nil {
			return reconcile.Result{}, err
		}
	}

	st := parent.Status.DeepCopy()
	st.ObservedGeneration = parent.Generation
	var active []string
	for _, ref := range refs {
		switch {
		case ref.active():
			active = append(active, ref.name)
		case ref.complete && (st.LastSuccessfulTime == nil || ref.finished.After(st.LastSuccessfulTime.Time)):
			st.LastSuccessfulTime = ptr.To(metav1.NewTime(ref.finished))
		}
	}
	markSuspended(st, parent.Spec.Suspend, parent.Generation, now)

	var requeue time.Duration
	if !parent.Spec.Suspend {
		after := parent.CreationTimestamp.Time
		if st.LastScheduleTime != nil {
			after = st.LastScheduleTime.Time
		}
		due, ok, next := dueRun(sched, after, now, r.opts.StartingWindow)
		if ok {
			started, err := r.startRun(ctx, parent, due, active)
			if err != nil {
				return reconcile.Result{}, err
			}
			if started {
				st.LastScheduleTime = ptr.To(metav1.NewTime(due))
				active = []string{runName(parent.Name, due)}
				if parent.Spec.ConcurrencyPolicy != v1alpha1.ReplaceConcurrent {
					active = append(active, activeNames(refs)...)
				}
			}
		}
		if !next.IsZero() {
			requeue = next.Sub(now)
		}
	}
	slices.Sort(active)
	st.ActiveRuns = slices.Compact(active)
	if err := r.patchStatus(ctx, parent, *st); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: requeue}, nil
}

// startRun starts the run of parent due at t, following the concurrency
// policy given the active runs; it reports whether the run was started (or
// existed).
func (r *Controller) startRun(ctx context.Context, parent *v1alpha1.Job, due time.Time, active []string) (bool, error) {
	logger := log.FromContext(ctx)
	run := newRun(parent, due)
	if slices.Contains(active, run.Name) {
		return true, nil
	}
	dec := decideRun(parent.Spec.ConcurrencyPolicy, len(active))
	if !dec.start {
		logger.V(1).Info("Not starting a run while another is active (Forbid)", "due", due, "active", active)
		return false, nil
	}
	if dec.replace {
		for _, name := range active {
			logger.Info("Replacing an active run", "run", name)
			if err := r.deleteRun(ctx, parent.Namespace, name); err != nil {
				return false, err
			}
		}
	}
	if err := r.c.Create(ctx, run); err != nil && !apierrors.IsAlreadyExists(err) {
		return false, fmt.Errorf("failed to create run %s: %w", run.Name, err)
	}
	logger.Info("Started a scheduled run", "run", run.Name, "scheduledAt", due)
	return true, nil
}

// runsOf returns the runs of a scheduled Job: the Jobs it controls.
func (r *Controller) runsOf(ctx context.Context, parent *v1alpha1.Job) ([]v1alpha1.Job, error) {
	list := &v1alpha1.JobList{}
	if err := r.c.List(ctx, list, client.InNamespace(parent.Namespace), client.MatchingLabels{LabelScheduledBy: string(parent.UID)}); err != nil {
		return nil, fmt.Errorf("failed to list the runs of job %s: %w", parent.Name, err)
	}
	var out []v1alpha1.Job
	for _, j := range list.Items {
		if ref := metav1.GetControllerOf(&j); ref != nil && ref.UID == parent.UID && j.DeletionTimestamp == nil {
			out = append(out, j)
		}
	}
	return out, nil
}

// deleteRun deletes a run; its tasks are killed when it is gone.
func (r *Controller) deleteRun(ctx context.Context, ns, name string) error {
	run := &v1alpha1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	if err := r.c.Delete(ctx, run, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("failed to delete run %s: %w", name, err)
	}
	return nil
}

func activeNames(refs []runRef) []string {
	var out []string
	for _, r := range refs {
		if r.active() {
			out = append(out, r.name)
		}
	}
	return out
}
