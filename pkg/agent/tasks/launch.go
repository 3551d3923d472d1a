package tasks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/image"
	"meseta.dev/meseta/pkg/runtime"
)

// launch prepares and runs a task's container, then records the outcome: the
// container runs (and is watched), or the launch failed or was stopped by a
// kill.
func (s *Supervisor) launch(ctx context.Context, r *record, t *v1alpha1.Task) {
	begin := time.Now()
	failure := s.prepareAndRun(ctx, r, t)
	if failure != nil && s.ctx.Err() != nil {
		return // the agent is stopping; the next agent launches the task again
	}
	s.mu.Lock()
	if failure != nil {
		if r.killing {
			failure = &Failure{State: v1alpha1.TaskKilled, Reason: r.killReason,
				Message: "The task was killed before its container started"}
		}
		r.phase, r.failure = PhaseFailed, failure
		s.mu.Unlock()
		s.cfg.Logger.Info("Task launch failed", "task", r.key, "reason", failure.Reason, "message", failure.Message)
		s.notify(r.key)
		return
	}
	r.phase, r.startedAt = PhaseRunning, time.Now()
	killNow := r.killing
	if killNow {
		r.killing = false
		s.killLocked(r, r.killReason, r.killMessage)
	}
	s.mu.Unlock()
	s.cfg.Logger.V(1).Info("Container running", "task", r.key, "container", r.id, "elapsed", time.Since(begin).Round(time.Millisecond))
	s.goRun(func() { s.watch(r) })
	s.notify(r.key)
}

// prepareAndRun creates the task's sandbox, pulls its image, assembles its root
// file system, writes its bundle and runs it. It undoes what it did when it
// fails, and says why as the Failure to report.
func (s *Supervisor) prepareAndRun(ctx context.Context, r *record, t *v1alpha1.Task) *Failure {
	sandbox := filepath.Join(r.dir, SandboxDirName)
	if err := os.MkdirAll(sandbox, 0o755); err != nil {
		return launchFailed("failed to create the sandbox: %v", err)
	}
	if err := writeIdentity(r.dir, identityOf(t)); err != nil {
		return launchFailed("failed to record the task in its directory: %v", err)
	}
	ref := t.Spec.Container.Image
	if _, err := image.ParseReference(ref, s.cfg.InsecureRegistries); err != nil {
		return &Failure{State: v1alpha1.TaskError, Reason: v1alpha1.ReasonTaskInvalid, Message: fmt.Sprintf("spec.container.image: %v", err)}
	}
	img, err := s.cfg.Images.Pull(ctx, ref)
	if err != nil {
		return &Failure{State: v1alpha1.TaskFailed, Reason: v1alpha1.ReasonImagePullFailed, Message: capitalize(err.Error())}
	}
	s.mu.Lock()
	r.image = img
	s.mu.Unlock()
	rootfs, err := s.cfg.Images.Mount(img, r.dir, image.MountOptions{Mountpoints: []string{runtime.SandboxPath}})
	if err != nil {
		return launchFailed("failed to assemble the root file system: %v", err)
	}
	failure := s.runContainer(ctx, r, t, img, rootfs, sandbox)
	if failure != nil {
		if err := s.cfg.Images.Unmount(r.dir); err != nil {
			s.cfg.Logger.Error(err, "Failed to unmount the root file system of a failed launch", "task", r.key)
		}
	}
	return failure
}

// runContainer builds the OCI bundle of the task and runs it.
func (s *Supervisor) runContainer(ctx context.Context, r *record, t *v1alpha1.Task, img *image.Image, rootfs *image.Rootfs, sandbox string) *Failure {
	c := t.Spec.Container
	args := img.Config.Args(c.Command, c.Args)
	if len(args) == 0 {
		return &Failure{State: v1alpha1.TaskError, Reason: v1alpha1.ReasonTaskInvalid,
			Message: "spec.container.command: neither the task nor its image names a command"}
	}
	userSpec := c.User
	if userSpec == "" {
		userSpec = img.Config.User
	}
	user, err := runtime.ResolveUser(rootfs.Path, userSpec)
	if err != nil {
		return launchFailed("failed to resolve the user %q: %v", userSpec, err)
	}
	cwd := c.WorkingDir
	if cwd == "" {
		cwd = img.Config.WorkingDir
	}
	spec, err := runtime.BuildSpec(runtime.Config{
		ID: r.id, Rootfs: rootfs.Path, RootfsReadOnly: rootfs.ReadOnly,
		Args: args, Env: img.Config.MergeEnv(taskEnv(t, s.cfg.Node)), Cwd: cwd, User: user,
		Hostname: hostname(t.Name), SandboxDir: sandbox,
		Limits:      runtime.LimitsFromResources(t.Spec.Resources),
		Annotations: containerAnnotations(t, s.cfg.Node, r.want),
	})
	if err != nil {
		return &Failure{State: v1alpha1.TaskError, Reason: v1alpha1.ReasonTaskInvalid, Message: capitalize(err.Error())}
	}
	bundle := filepath.Join(r.dir, BundleDirName)
	if err := runtime.WriteBundle(bundle, spec); err != nil {
		return launchFailed("failed to write the OCI bundle: %v", err)
	}
	if user.UID != 0 {
		if err := os.Chown(sandbox, int(user.UID), int(user.GID)); err != nil {
			return launchFailed("failed to give the sandbox to user %d: %v", user.UID, err)
		}
	}
	if !s.takeStartSlot(ctx) {
		return launchFailed("the launch was stopped")
	}
	defer s.releaseStartSlot()
	// Run is not cancelled half way: it either runs the container or not.
	_, err = s.cfg.Runtime.Run(context.WithoutCancel(ctx), r.id, runtime.RunOptions{
		Bundle: bundle, Stdout: filepath.Join(sandbox, StdoutFileName), Stderr: filepath.Join(sandbox, StderrFileName),
	})
	if err != nil {
		return launchFailed("%v", err)
	}
	return nil
}

// takeStartSlot waits for a slot to start a container in (ParallelStarts),
// and reports false when the launch was stopped first.
func (s *Supervisor) takeStartSlot(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	if s.starts == nil {
		return true
	}
	select {
	case s.starts <- struct{}{}:
		if ctx.Err() != nil {
			<-s.starts
			return false
		}
		return true
	case <-ctx.Done():
		return false
	}
}

// releaseStartSlot frees the slot takeStartSlot took.
func (s *Supervisor) releaseStartSlot() {
	if s.starts != nil {
		<-s.starts
	}
}

// taskEnv is the environment the agent gives a task: where it runs, then the
// task's own variables.
func taskEnv(t *v1alpha1.Task, node string) []string {
	env := []string{
		"MESETA_SANDBOX=" + runtime.SandboxPath,
		"MESETA_TASK_NAME=" + t.Name,
		"MESETA_TASK_NAMESPACE=" + t.Namespace,
		"MESETA_FRAMEWORK=" + t.Spec.Framework,
		"MESETA_NODE_NAME=" + node,
	}
	for _, e := range t.Spec.Container.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	return env
}

func launchFailed(format string, args ...any) *Failure {
	return &Failure{State: v1alpha1.TaskFailed, Reason: v1alpha1.ReasonContainerLaunchFailed, Message: capitalize(fmt.Sprintf(format, args...))}
}
