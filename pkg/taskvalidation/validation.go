package taskvalidation

import (
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"meseta.dev/meseta/apis/v1alpha1"
)

var (
	specPath   = field.NewPath("spec")
	statusPath = field.NewPath("status")
	// omit leaves a value out of an error: one that is a whole object.
	omit = field.OmitValueType{}
)

// Create returns what is wrong with a new task.
func Create(task *v1alpha1.Task) field.ErrorList {
	spec := task.Spec
	var errs field.ErrorList
	if len(spec.Offers) == 0 && spec.NodeName == "" {
		errs = append(errs, field.Required(specPath.Child("offers"),
			"a task names the offers it is launched on (offers) or, placed by an operator, a node (nodeName)"))
	}
	return append(errs, Template(spec.TaskTemplate, specPath)...)
}

// Update returns what is wrong with a change of a task's spec (a write of the
// task itself): the spec does not change, but for nodeName, which may be set
// once. What did not change is not validated again.
func Update(task, old *v1alpha1.Task) field.ErrorList {
	spec, was := task.Spec, old.Spec
	var errs field.ErrorList
	immutable := func(name string, changed bool, value any, message string) {
		if changed {
			errs = append(errs, field.Invalid(specPath.Child(name), value, message))
		}
	}
	immutable("framework", spec.Framework != was.Framework, spec.Framework, "framework is immutable")
	immutable("offers", !slices.Equal(spec.Offers, was.Offers), omit, "offers are immutable")
	immutable("nodeName", was.NodeName != "" && spec.NodeName != was.NodeName, spec.NodeName, "nodeName cannot be changed once set")
	immutable("resources", !equality.Semantic.DeepEqual(spec.Resources, was.Resources), omit, "resources are immutable")
	immutable("container", !equality.Semantic.DeepEqual(spec.Container, was.Container), omit, "container is immutable")
	immutable("killGracePeriod", !equality.Semantic.DeepEqual(spec.KillGracePeriod, was.KillGracePeriod), omit, "killGracePeriod is immutable")
	immutable("healthCheck", !equality.Semantic.DeepEqual(spec.HealthCheck, was.HealthCheck), omit, "healthCheck is immutable")
	return append(errs, StatusUpdate(task, old)...)
}

// StatusUpdate returns what is wrong with a change of a task's status: a
// terminal state never changes (StateChange).
func StatusUpdate(task, old *v1alpha1.Task) field.ErrorList {
	return StateChange(task.Status.State, old.Status.State)
}

// StateChange returns what is wrong with a task's state changing from old to
// state: a terminal state never changes. It is all a status write is
// checked for.
func StateChange(state, old v1alpha1.TaskState) field.ErrorList {
	if old.IsTerminal() && state != old {
		return field.ErrorList{field.Invalid(statusPath.Child("state"), string(state), "a task in a terminal state cannot change state")}
	}
	return nil
}

// Template returns what is wrong with what a task runs, at path: its
// resources, its container and its health check.
func Template(t v1alpha1.TaskTemplate, path *field.Path) field.ErrorList {
	errs := Resources(t.Resources, path.Child("resources"))
	if !positive(t.Resources.Cpus) && !positive(t.Resources.Mem) {
		errs = append(errs, field.Invalid(path.Child("resources"), omit, "resources must ask for some cpus or mem"))
	}
	if t.Container.Image == "" && len(t.Container.Command) == 0 {
		errs = append(errs, field.Required(path.Child("container", "command"), "command is required when no image is given"))
	}
	if t.HealthCheck != nil {
		errs = append(errs, healthCheck(*t.HealthCheck, path.Child("healthCheck"))...)
	}
	return errs
}

// Resources returns what is wrong with an amount of resources at path: a
// negative quantity, gpus that are not a whole number, port ranges that end
// before they begin, overlap or repeat.
func Resources(r v1alpha1.Resources, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, q := range []struct {
		name string
		q    *resource.Quantity
	}{{"cpus", r.Cpus}, {"mem", r.Mem}, {"disk", r.Disk}, {"gpus", r.Gpus}} {
		if q.q != nil && q.q.Sign() < 0 {
			errs = append(errs, field.Invalid(path.Child(q.name), q.q.String(), q.name+" must not be negative"))
		}
	}
	if r.Gpus != nil {
		if _, whole := r.Gpus.AsInt64(); !whole {
			errs = append(errs, field.Invalid(path.Child("gpus"), r.Gpus.String(), "gpus must be a whole number"))
		}
	}
	for i, p := range r.Ports {
		if p.End < p.Begin {
			errs = append(errs, field.Invalid(path.Child("ports").Index(i).Child("end"), p.End, "end must be at least begin"))
		}
	}
	if overlap(r.Ports) {
		errs = append(errs, field.Invalid(path.Child("ports"), omit, "port ranges must not overlap or repeat"))
	}
	return errs
}

// overlap reports whether two of ports share a port.
func overlap(ports []v1alpha1.PortRange) bool {
	for i, a := range ports {
		for _, b := range ports[i+1:] {
			if a.Begin <= b.End && b.Begin <= a.End {
				return true
			}
		}
	}
	return false
}

// healthCheck returns what is wrong with a health check at path: the field of
// its type, and only that, is set; its interval and timeout are more than
// zero.
func healthCheck(h v1alpha1.HealthCheck, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct {
		name string
		typ  v1alpha1.HealthCheckType
		set  bool
	}{
		{"command", v1alpha1.HealthCheckCommand, h.Command != nil},
		{"http", v1alpha1.HealthCheckHTTP, h.HTTP != nil},
		{"tcp", v1alpha1.HealthCheckTCP, h.TCP != nil},
	} {
		if f.set != (h.Type == f.typ) {
			errs = append(errs, field.Invalid(path.Child(f.name), omit, f.name+" must be set when type is "+string(f.typ)+", and only then"))
		}
	}
	if h.Interval != nil && h.Interval.Duration <= 0 {
		errs = append(errs, field.Invalid(path.Child("interval"), h.Interval.Duration.String(), "interval must be more than zero"))
	}
	if h.Timeout != nil && h.Timeout.Duration <= 0 {
		errs = append(errs, field.Invalid(path.Child("timeout"), h.Timeout.Duration.String(), "timeout must be more than zero"))
	}
	return errs
}

func positive(q *resource.Quantity) bool { return q != nil && q.Sign() > 0 }
