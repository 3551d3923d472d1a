package taskadmission

import (
	"context"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/taskvalidation"
)

// PluginName is the plugin's name in the API server's admission chain.
const PluginName = "meseta.dev/TaskValidation"

// Register adds the plugin to plugins.
func Register(plugins *admission.Plugins) {
	plugins.Register(PluginName, func(io.Reader) (admission.Interface, error) { return New(), nil })
}

// Plugin validates Tasks (package taskvalidation).
type Plugin struct {
	*admission.Handler
}

var _ admission.ValidationInterface = (*Plugin)(nil)

// New returns the plugin.
func New() *Plugin {
	return &Plugin{Handler: admission.NewHandler(admission.Create, admission.Update)}
}

var (
	tasks    = v1alpha1.GroupVersion.WithResource("tasks").GroupResource()
	taskKind = v1alpha1.GroupVersion.WithKind("Task").GroupKind()
)

// Validate implements admission.ValidationInterface.
func (p *Plugin) Validate(_ context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != tasks {
		return nil
	}
	var errs field.ErrorList
	switch sub := a.GetSubresource(); {
	case sub == "status":
		// A status write keeps the spec as stored: only its state is checked,
		// read without converting the whole task (three writes of five).
		errs = taskvalidation.StateChange(stateOf(a.GetObject()), stateOf(a.GetOldObject()))
	case sub != "":
		return nil
	default:
		task, err := asTask(a.GetObject())
		if err != nil {
			return err
		}
		if a.GetOperation() == admission.Create {
			errs = taskvalidation.Create(task)
			break
		}
		old, err := asTask(a.GetOldObject())
		if err != nil {
			return err
		}
		errs = taskvalidation.Update(task, old)
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(taskKind, a.GetName(), errs)
	}
	return nil
}

// stateOf returns the status.state of obj, a Task as the API server holds it.
func stateOf(obj apiruntime.Object) v1alpha1.TaskState {
	switch o := obj.(type) {
	case *v1alpha1.Task:
		return o.Status.State
	case *unstructured.Unstructured:
		state, _, _ := unstructured.NestedString(o.Object, "status", "state")
		return v1alpha1.TaskState(state)
	}
	return ""
}

// asTask returns obj, a Task as the API server holds it (unstructured), as a
// v1alpha1.Task.
func asTask(obj apiruntime.Object) (*v1alpha1.Task, error) {
	switch o := obj.(type) {
	case *v1alpha1.Task:
		return o, nil
	case *unstructured.Unstructured:
		task := &v1alpha1.Task{}
		if err := apiruntime.DefaultUnstructuredConverter.FromUnstructured(o.Object, task); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the task cannot be read: %v", err))
		}
		return task, nil
	default:
		return nil, apierrors.NewInternalError(fmt.Errorf("a task admitted as %T", obj))
	}
}
