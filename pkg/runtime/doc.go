// Package runtime runs Meseta tasks in OCI containers: it builds a task's OCI
// runtime spec (BuildSpec, WriteBundle) and drives an OCI runtime binary, runc by
// default or crun, through the Runtime interface (OCI).
//
// # Spec
//
// BuildSpec gives every task its own pid, mount, ipc and uts namespaces (network:
// the host's by default, or NetworkNone), /proc, /dev, /sys and the task's sandbox
// at /mnt/sandbox, the default capability set with an empty ambient set, no new
// privileges, masked and read-only kernel paths, an open-files limit, and cgroup
// limits under /meseta/<id>: cpu shares 1024*cpus, CFS quota cpus*100ms per
// 100ms, memory limit mem with memory+swap equal to it, and 4096 pids. A quota
// under 25ms (cpus below 0.25) is set right after the container started: the
// runtime's own set-up, which runs in the container's cgroup, would otherwise
// be throttled (about half a second at 0.01 cpus), so the container starts
// with StartCFSQuota. The driver writes the quota to the container's cpu
// cgroup itself (microseconds, where "RUNTIME update" costs a process start);
// only if that fails does it ask "RUNTIME update", which also tells a
// container that exited already from a failure. The host root (the empty image) is
// read-only, with a private tmpfs on /tmp.
//
// # Exit statuses: the monitor
//
// "runc run --detach" returns as soon as the container runs, and the container's
// init process is then no child of anyone who could wait(2) for it, so its exit
// status would be lost; an agent that restarts has lost it anyway. Meseta keeps a
// monitor per state directory: a small long-lived process (this very binary,
// re-executed with argv[0] "meseta-runtime-monitor"; the package's init function
// runs it before main) that is a child subreaper (PR_SET_CHILD_SUBREAPER) in its
// own session.
//
//   - Run asks the monitor, over a unix socket, to execute "RUNTIME run --detach"
//     with the task's sandbox files stdout and stderr as its standard output and
//     error (the runtime passes them on to the container; no terminal). The
//     runtime exits once the container runs; the container's init process is
//     re-parented to the monitor.
//   - The monitor reaps every child. When a container's init exits it records the
//     exact wait status (exit code, or the killing signal) and the OOM kills of the
//     container's memory cgroup (memory.oom_control's oom_kill on cgroup v1,
//     memory.events on v2; the cgroup lives until Delete) in
//     ROOT/containers/<id>/exit.json, written atomically and fsynced. The file is
//     in the driver's state directory, never in the sandbox, which the task can
//     write.
//   - Wait watches the init process with a pidfd (which works for processes that
//     are not the caller's children), checks the process's start time against the
//     recorded one (PIDs are reused), and then reads exit.json.
//   - Stop sends SIGTERM, waits up to the grace period, sends SIGKILL, waits, and
//     returns the exit status; Delete then runs a plain "RUNTIME delete" (never
//     --force, which costs ~100 ms).
//
// One monitor serves all containers of a state directory, so a task launch costs
// one socket round trip and one runtime execution, and the agent binary's start-up
// cost (large: it links Kubernetes) is paid once, not per container.
//
// # Restarts
//
// Everything is on disk: the runtime's state (ROOT/runc, its --root), and per
// container a record (meta.json: bundle, init PID and start time, memory cgroup),
// the runtime's log, and exit.json. The monitor does not depend on the agent: it
// outlives it and exits by itself only when no driver holds a session, no request
// is in flight and no container is left to watch. A new driver (after an agent
// restart, even by SIGKILL) finds the monitor through its socket, or starts one;
// List (runtime list plus records) re-adopts running containers, and reports
// containers that exited meanwhile with their true exit status. Two cases lose
// information and say so: if the monitor itself died while a container ran,
// that container's exit is reported with Unknown set (OOM kills still come from
// the cgroup); if the runtime's state vanished while a record remains (a reboot
// that emptied a tmpfs), List reports the container with StatusUnknown.
//
// # Use
//
//	rt, err := runtime.New(runtime.Options{Root: workDir + "/runtime", Runtime: flags.Runtime})
//	spec, err := runtime.BuildSpec(runtime.Config{ID: id, Rootfs: rootfs.Path, RootfsReadOnly: rootfs.ReadOnly,
//		Args: args, Env: env, SandboxDir: sandbox, Limits: runtime.LimitsFromResources(task.Spec.Resources),
//		Annotations: map[string]string{"meseta.dev/task": ns + "/" + name}})
//	err = runtime.WriteBundle(bundleDir, spec)
//	state, err := rt.Run(ctx, id, runtime.RunOptions{Bundle: bundleDir, Stdout: sandbox + "/stdout", Stderr: sandbox + "/stderr"})
//	exit, err := rt.Wait(ctx, id)                  // or rt.Stop(ctx, id, killGracePeriod)
//	err = rt.Delete(ctx, id)
//
// A binary that uses OCI with the default MonitorCommand must not change
// os.Args[0] handling before this package's init runs; nothing else is needed.
package runtime
