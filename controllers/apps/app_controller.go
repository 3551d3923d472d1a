package apps

import (
	"context"
	"maps"
	"time"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/sdk"
)

// specOf applies the API defaults to an App's spec.
func specOf(app *v1alpha1.App, resetAfter time.Duration) appSpec {
	n := max(0, ptr.Deref(app.Spec.Instances, 1))
	return appSpec{
		instances: n,
		version:   versionOf(&app.Spec.Template),
		capacity:  capacityOf(n, app.Spec.UpgradeStrategy),
		backoff:   backoffOf(app.Spec.Backoff, resetAfter),
	}
}

// reconcileApp runs an App: it plans from the App's tasks, kills and cleans
// up what must go, hands the tasks to launch to the namespace's framework,
// and writes the status.
func (r *Controller) reconcileApp(ctx context.Context, app *v1alpha1.App) (reconcile.Result, error) {
	now := r.now()
	tasks, err := r.tasksOf(ctx, app)
	if err != nil {
		return reconcile.Result{}, err
	}
	refs := make([]taskRef, 0, len(tasks))
	byName := map[string]*v1alpha1.Task{}
	for i := range tasks {
		ref, ok := refOf(tasks[i])
		if !ok {
			continue
		}
		if r.kills.pending(tasks[i].UID, r.opts.Now()) {
			ref.deleting = true
		}
		refs = append(refs, ref)
		byName[ref.name] = tasks[i]
	}
	spec := specOf(app, r.opts.BackoffReset)
	p := planApp(spec, refs, now)

	for _, name := range p.kill {
		if err := r.kill(ctx, byName[name]); err != nil {
			return reconcile.Result{}, err
		}
	}
	for _, name := range p.cleanup {
		if err := r.delete(ctx, byName[name]); err != nil {
			return reconcile.Result{}, err
		}
	}
	pl, err := r.fws.Get(ctx, app.Namespace)
	if err != nil {
		return reconcile.Result{}, err
	}
	g, settled := r.group(ctx, app, spec, p, tasks)
	pl.Set(app.Name, g, settled)
	st := appStatus(app, spec, p, pl.Why(app.Name), now)
	if err := r.patchStatus(ctx, app, st); err != nil {
		return reconcile.Result{}, err
	}
	if len(p.launches) > 0 || len(p.kill) > 0 || p.delayed > 0 {
		log.FromContext(ctx).V(1).Info("App planned", "version", spec.version, "launches", len(p.launches),
			"kills", len(p.kill), "delayed", p.delayed, "healthy", p.counts.healthy, "updated", p.counts.updated)
	}
	if p.requeueAfter > 0 {
		// A second more, as API times are whole seconds.
		return reconcile.Result{RequeueAfter: p.requeueAfter + time.Second}, nil
	}
	return reconcile.Result{}, nil
}

// group returns what the framework is to launch for app: the plan's
// launches, with the App's constraints and the nodes its tasks hold; and the
// names of the tasks whose node that accounts for, or that ended.
func (r *Controller) group(ctx context.Context, app *v1alpha1.App, spec appSpec, p appPlan, tasks []*v1alpha1.Task) (sdk.Group, []string) {
	var settled []string
	for i := range tasks {
		if tasks[i].IsTerminal() || tasks[i].Spec.NodeName != "" {
			settled = append(settled, tasks[i].Name)
		}
	}
	if len(p.launches) == 0 {
		return sdk.Group{}, settled
	}
	g := sdk.Group{Constraints: app.Spec.Constraints}
	for _, l := range p.launches {
		g.Tasks = append(g.Tasks, taskFor(app, spec.version, l))
	}
	attrs := map[string]map[string]string{}
	for _, t := range tasks {
		if t.IsTerminal() || t.Spec.NodeName == "" || t.Status.State == v1alpha1.TaskUnreachable {
			continue
		}
		a, ok := attrs[t.Spec.NodeName]
		if !ok {
			a = r.nodeAttributes(ctx, t.Spec.NodeName)
			attrs[t.Spec.NodeName] = a
		}
		g.Placed = append(g.Placed, sdk.PlacementOf(t, a))
	}
	return g, settled
}

// nodeAttributes returns the attributes of a node as its offers carry them
// (the agent's, overridden by the operator's); nil when the node cannot be
// read (constraints on attributes then see none).
func (r *Controller) nodeAttributes(ctx context.Context, name string) map[string]string {
	n := &v1alpha1.Node{}
	if err := r.c.Get(ctx, client.ObjectKey{Name: name}, n); err != nil {
		return nil
	}
	out := maps.Clone(n.Status.Attributes)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, n.Spec.Attributes)
	return out
}

// tasksOf returns the App's tasks (its UID's), and kills the tasks of an
// older App of the same name.
func (r *Controller) tasksOf(ctx context.Context, app *v1alpha1.App) ([]*v1alpha1.Task, error) {
	all, err := r.tasksNamed(client.ObjectKeyFromObject(app))
	if err != nil {
		return nil, err
	}
	out := make([]*v1alpha1.Task, 0, len(all))
	for _, t := range all {
		if t.Labels[LabelAppUID] == string(app.UID) {
			out = append(out, t)
			continue
		}
		if err := r.kill(ctx, t); err != nil {
			return nil, err
		}
	}
	return out, nil
}
