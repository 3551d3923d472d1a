// Package agent is the Meseta agent: the daemon that runs on every machine,
// registers it as a Node, and runs the Tasks bound to it in OCI containers
// (`meseta agent`).
//
// Startup follows Options -> Complete -> Validate -> Config -> Start:
//
//	o := agent.NewOptions()
//	o.AddFlags(fs)                // --kubeconfig, --node-name, --work-dir, --resources, ...
//	completed, err := o.Complete() // node name, absolute work dir, runtime path
//	err = completed.Validate()     // every bad flag, named
//	cfg, err := completed.Config() // kubeconfig loaded, resources detected, address found
//	a, err := agent.Start(ctx, cfg)
//	<-a.Done()                     // after ctx ends
//
// The parts live in subpackages: hostresources (the node's resources and
// attributes), node (registration, Lease and Node status), tasks (the task
// controller and the container supervisor), health (health checks) and logs
// (the HTTPS endpoint that serves task output to `mesetactl logs`). This
// package wires them to the runtime (meseta.dev/meseta/pkg/runtime) and the
// image store (meseta.dev/meseta/pkg/image), all under the work dir:
//
//	WORK-DIR/tasks/<container ID>/   a task's sandbox, bundle and root file system
//	WORK-DIR/images/                 unpacked image layers
//	WORK-DIR/runtime/                the OCI runtime's state, exit records, monitor
//	WORK-DIR/pki/                    the endpoint's serving certificate
//
// An agent that stops leaves its containers running; the next agent on the same
// work dir re-adopts them. With KillTasksOnExit (the agent of `meseta dev`) it
// kills them first and reports them Killed.
package agent
