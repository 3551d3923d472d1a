// Package taskvalidation holds the rules of a Task that its CRD's schema
// cannot state by itself, in Go: a task asks for some cpus or mem, names its
// offers or its node, its spec never changes but for nodeName (set once), a
// terminal state is final, and the rules of its resources, container and
// health check. The master's admission plugin (package taskadmission)
// enforces them on every write of a Task, and the Task CRD is served without
// its x-kubernetes-validations (crd.Served): tasks are the kind written at
// launch rates, five writes each, and CEL evaluated every rule of the whole
// object at each write, status writes included, which cost about a fifth of
// the master's CPU per task.
//
// The rules and their messages are those of the CEL rules in the types'
// markers (apis/v1alpha1), which the other kinds that hold the same types
// (Apps' and Jobs' templates, Nodes' and Offers' resources) still run; a test
// checks that every rule of the generated Task CRD has its Go counterpart
// here.
//
//	if errs := taskvalidation.Create(task); len(errs) > 0 {
//		return apierrors.NewInvalid(v1alpha1.GroupVersion.WithKind("Task").GroupKind(), task.Name, errs)
//	}
package taskvalidation
