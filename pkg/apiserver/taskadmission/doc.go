// Package taskadmission is the master's validating admission plugin for
// Tasks, PluginName: it runs the rules of package taskvalidation on every
// create and update of a Task (its status subresource included), as the Task
// CRD's CEL rules did, and answers a task that breaks them with 422 Invalid
// naming each field, like any schema error.
//
//	taskadmission.Register(opts.Admission.GenericAdmission.Plugins)
//	// and PluginName in the recommended order, before the admission policies
package taskadmission
