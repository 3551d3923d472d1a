package controllers

import (
	ctrl "sigs.k8s.io/controller-runtime"

	"meseta.dev/meseta/controllers/apps"
	"meseta.dev/meseta/controllers/frameworklifecycle"
	"meseta.dev/meseta/controllers/jobs"
	"meseta.dev/meseta/controllers/nodelifecycle"
	"meseta.dev/meseta/controllers/offers"
	"meseta.dev/meseta/controllers/rolestatus"
	"meseta.dev/meseta/pkg/master"
)

// All returns the setup functions of every controller the master runs.
func All() []master.ControllerSetup {
	return []master.ControllerSetup{
		offers.Setup, // offers, the ledger, task binding and admission
		// The built-in frameworks, written with the SDK, unless --frameworks
		// leaves them out.
		Apps, Jobs,

		// The lifecycle controllers: node liveness and drain, framework Leases
		// and teardown, role status.
		NodeLifecycle, FrameworkLifecycle, RoleStatus,
	}
}

// Apps sets up the built-in apps framework when --frameworks names it.
func Apps(mgr ctrl.Manager, o master.SchedulingOptions) error {
	if !o.RunsFramework("apps") {
		return nil
	}
	_, err := apps.New(mgr, apps.DefaultOptions())
	return err
}

// Jobs sets up the built-in jobs framework when --frameworks names it.
func Jobs(mgr ctrl.Manager, o master.SchedulingOptions) error {
	if !o.RunsFramework("jobs") {
		return nil
	}
	return jobs.Setup(mgr, o)
}

// NodeLifecycle sets up the node lifecycle controller with the master's
// --node-timeout, --node-gone-timeout and --max-node-heartbeats-per-second.
func NodeLifecycle(mgr ctrl.Manager, o master.SchedulingOptions) error {
	return nodelifecycle.Setup(mgr, nodelifecycle.Options{
		NodeTimeout: o.NodeTimeout, GoneTimeout: o.NodeGoneTimeout, LeaseNamespace: master.SystemNamespace,
		MaxHeartbeatsPerSecond: o.MaxNodeHeartbeatsPerSecond,
	})
}

// FrameworkLifecycle sets up the framework lifecycle controller.
func FrameworkLifecycle(mgr ctrl.Manager, _ master.SchedulingOptions) error {
	return frameworklifecycle.Setup(mgr, frameworklifecycle.Options{})
}

// RoleStatus sets up the role status controller.
func RoleStatus(mgr ctrl.Manager, _ master.SchedulingOptions) error {
	return rolestatus.Setup(mgr, rolestatus.Options{})
}
