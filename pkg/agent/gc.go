package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/tasks"
)

// collectGarbage runs every GCInterval until ctx ends: it asks for every known
// task to be reconciled (a full resync), removes the sandboxes of tasks that
// are gone or finished SandboxGCDelay ago, removes image layers unused for
// ImageGCDelay, and checks that the runtime still answers (else the node is
// reported not ready).
func (a *Agent) collectGarbage(ctx context.Context) error {
	o := a.cfg.Options
	logger := klog.FromContext(ctx).WithName("gc")
	ticker := time.NewTicker(o.GCInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
		a.supervisor.NotifyAll()
		removed, err := a.supervisor.SweepSandboxes(ctx, a.taskFate, o.SandboxGCDelay, time.Now())
		if err != nil && ctx.Err() == nil {
			logger.Error(err, "Sandbox garbage collection failed")
		}
		if len(removed) > 0 {
			logger.Info("Removed task directories", "count", len(removed))
		}
		if keep, complete := a.supervisor.Images(); complete {
			layers, err := a.store.GC(keep, o.ImageGCDelay)
			if err != nil {
				logger.Error(err, "Image garbage collection failed")
			}
			if len(layers) > 0 {
				logger.Info("Removed unused image layers", "count", len(layers))
			}
		}
		if _, err := a.rt.List(ctx); err != nil && ctx.Err() == nil {
			a.setProblem(fmt.Sprintf("The OCI runtime does not answer: %v", err))
		} else {
			a.setProblem("")
		}
	}
}

// taskFate looks a task up for garbage collection: in the cache, and when it is
// not there, in the API server.
func (a *Agent) taskFate(ctx context.Context, id tasks.Identity) (tasks.TaskFate, error) {
	t := &v1alpha1.Task{}
	err := a.mgr.GetClient().Get(ctx, id.Key(), t)
	if apierrors.IsNotFound(err) {
		err = a.mgr.GetAPIReader().Get(ctx, id.Key(), t)
	}
	if apierrors.IsNotFound(err) {
		return tasks.TaskFate{}, nil
	}
	if err != nil {
		return tasks.TaskFate{}, err
	}
	if t.UID != id.UID {
		return tasks.TaskFate{}, nil
	}
	fate := tasks.TaskFate{Exists: true, Terminal: t.IsTerminal()}
	if t.Status.FinishedAt != nil {
		fate.FinishedAt = t.Status.FinishedAt.Time
	}
	return fate, nil
}

// exec runs argv in a container with the OCI runtime's exec, for Command health
// checks. The runtime's state is in the "runc" directory of the runtime
// driver's root (see package runtime).
func (a *Agent) exec(ctx context.Context, id string, argv []string) (int, string, error) {
	o := a.cfg.Options
	root := filepath.Join(o.WorkDir, RuntimeDir, "runc")
	cmd := exec.CommandContext(ctx, o.Runtime, append([]string{"--root", root, "exec", id}, argv...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && ctx.Err() == nil {
		return exitErr.ExitCode(), tail(out.String(), 512), nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return 0, "", fmt.Errorf("the command did not finish in time")
		}
		return 0, "", err
	}
	return 0, tail(out.String(), 512), nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
