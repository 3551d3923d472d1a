package tasks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/resources"
	"meseta.dev/meseta/pkg/runtime"
)

// Adopt recovers what an earlier agent left running: it lists the runtime's
// containers and records each that runs a task of this node, as running
// (watched again), exited (with its recorded exit status) or vanished. Tasks
// whose containers are not found are reported by the reconciler (Lost,
// ContainerVanished). Call it once, before the first Admit; it returns how many
// containers it adopted.
func (s *Supervisor) Adopt(ctx context.Context) (int, error) {
	states, err := s.cfg.Runtime.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("failed to list the runtime's containers: %w", err)
	}
	n := 0
	for _, st := range states {
		r, ok := s.recordFromState(st)
		if !ok {
			s.cfg.Logger.Info("Ignoring a container that runs no task of this node", "container", st.ID, "status", st.Status)
			continue
		}
		s.mu.Lock()
		if s.records[r.uid] != nil {
			s.mu.Unlock()
			continue
		}
		s.records[r.uid] = r
		s.mu.Unlock()
		n++
		s.cfg.Logger.Info("Adopted container", "task", r.key, "container", r.id, "status", st.Status, "phase", r.phase)
		if r.phase == PhaseRunning {
			s.goRun(func() { s.watch(r) })
			s.goRun(func() { s.recallImage(r) })
		}
	}
	return n, nil
}

// recallImage finds the image of an adopted container again, so image garbage
// collection keeps its layers (until then, it collects nothing).
func (s *Supervisor) recallImage(r *record) {
	id, err := ReadIdentity(r.dir)
	if err != nil {
		s.cfg.Logger.Error(err, "Cannot tell the image of an adopted container", "task", r.key)
		return
	}
	img, err := s.cfg.Images.Pull(s.ctx, id.Image)
	if err != nil {
		if s.ctx.Err() == nil {
			s.cfg.Logger.Error(err, "Cannot find the image of an adopted container again", "task", r.key, "image", id.Image)
		}
		return
	}
	s.mu.Lock()
	r.image = img
	s.mu.Unlock()
}

// recordFromState rebuilds a record from a container's state and annotations.
func (s *Supervisor) recordFromState(st runtime.State) (*record, bool) {
	a := st.Annotations
	if a[AnnotationUID] == "" || a[AnnotationName] == "" || a[AnnotationNamespace] == "" ||
		(a[AnnotationNode] != "" && a[AnnotationNode] != s.cfg.Node) {
		return nil, false
	}
	r := &record{
		key: types.NamespacedName{Namespace: a[AnnotationNamespace], Name: a[AnnotationName]},
		uid: types.UID(a[AnnotationUID]), id: st.ID, dir: filepath.Join(s.cfg.Dir, st.ID),
		grace: DefaultKillGracePeriod, startedAt: st.Created,
	}
	if st.Bundle != "" {
		r.dir = filepath.Dir(st.Bundle)
	}
	if want, err := resources.Parse(a[AnnotationResources]); err == nil {
		r.want = want
	}
	if d, err := time.ParseDuration(a[AnnotationKillGracePeriod]); err == nil {
		r.grace = d
	}
	r.ctx, r.cancel = context.WithCancel(s.ctx)
	switch {
	case st.Exit != nil:
		e := *st.Exit
		r.phase, r.exit = PhaseExited, &e
	case st.Status == runtime.StatusRunning || st.Status == runtime.StatusCreated || st.Status == runtime.StatusPaused:
		r.phase = PhaseRunning
	case st.Status == runtime.StatusUnknown:
		r.phase = PhaseVanished
	default: // stopped without a recorded exit
		r.phase, r.exit = PhaseExited, &runtime.ExitStatus{Pid: st.Pid, Unknown: true, FinishedAt: time.Now()}
	}
	if r.phase != PhaseRunning {
		r.cancel()
	}
	return r, true
}

// Orphans returns the tasks the supervisor knows under key other than keep (a
// task deleted and re-created under the same name has a new UID).
func (s *Supervisor) Orphans(key types.NamespacedName, keep types.UID) []types.UID {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []types.UID
	for uid, r := range s.records {
		if r.key == key && uid != keep && !r.orphan {
			out = append(out, uid)
		}
	}
	return out
}

// RemoveOrphan kills the container of a task that no longer exists, deletes it,
// unmounts its root file system and removes its directory, in the background.
func (s *Supervisor) RemoveOrphan(uid types.UID) {
	s.mu.Lock()
	r := s.records[uid]
	if r == nil || r.orphan {
		s.mu.Unlock()
		return
	}
	r.orphan = true
	if r.phase == PhasePreparing && r.cancel != nil {
		r.cancel()
	}
	s.mu.Unlock()
	s.goRun(func() { s.removeOrphan(r) })
}

func (s *Supervisor) removeOrphan(r *record) {
	log := s.cfg.Logger.WithValues("task", r.key, "uid", r.uid, "container", r.id)
	log.Info("Removing the container of a task that no longer exists")
	for {
		s.mu.Lock()
		phase := r.phase
		s.mu.Unlock()
		if phase != PhasePreparing {
			break
		}
		select { // wait for the launch to stop
		case <-s.ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	if _, err := s.cfg.Runtime.Stop(s.ctx, r.id, r.grace); err != nil && s.ctx.Err() == nil {
		log.V(1).Info("Stopping the orphan container failed", "error", err.Error())
	}
	if err := s.removeContainer(s.ctx, r); err != nil {
		log.Error(err, "Failed to remove an orphan container; it is retried at the next sweep")
		s.mu.Lock()
		r.orphan = false
		s.mu.Unlock()
		return
	}
	if err := os.RemoveAll(r.dir); err != nil {
		log.Error(err, "Failed to remove the directory of an orphan task")
	}
	s.mu.Lock()
	delete(s.records, r.uid)
	s.mu.Unlock()
}
