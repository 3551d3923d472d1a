package tasks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"meseta.dev/meseta/pkg/image"
)

// TaskFate is what the API says of a task, for garbage collection.
type TaskFate struct {
	// Exists is false when no task with the identity's namespace, name and UID
	// exists.
	Exists bool
	// Terminal is true when the task reached a terminal state.
	Terminal bool
	// FinishedAt is when it did.
	FinishedAt time.Time
}

// LookupFunc tells the fate of the task a directory belongs to.
type LookupFunc func(ctx context.Context, id Identity) (TaskFate, error)

// SweepSandboxes removes the directories (sandbox included) of tasks that no
// longer exist, and of tasks that finished more than ttl before now. Directories
// of tasks whose containers are not cleaned up yet are left alone. It returns
// the directories it removed.
func (s *Supervisor) SweepSandboxes(ctx context.Context, lookup LookupFunc, ttl time.Duration, now time.Time) ([]string, error) {
	entries, err := os.ReadDir(s.cfg.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	busy := s.busyDirs()
	var removed []string
	var errs []error
	for _, e := range entries {
		dir := filepath.Join(s.cfg.Dir, e.Name())
		if !e.IsDir() || busy[dir] {
			continue
		}
		remove, err := s.sandboxExpired(ctx, dir, lookup, ttl, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !remove {
			continue
		}
		if err := s.cfg.Images.Unmount(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, dir)
	}
	return removed, errors.Join(errs...)
}

// busyDirs are the directories of tasks whose containers are not cleaned up.
func (s *Supervisor) busyDirs() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	busy := map[string]bool{}
	for _, r := range s.records {
		if !r.cleaned || r.orphan {
			busy[r.dir] = true
		}
	}
	return busy
}

func (s *Supervisor) sandboxExpired(ctx context.Context, dir string, lookup LookupFunc, ttl time.Duration, now time.Time) (bool, error) {
	id, err := ReadIdentity(dir)
	if err != nil {
		// A launch that crashed before recording its task: remove it once old.
		fi, statErr := os.Stat(dir)
		return statErr == nil && now.Sub(fi.ModTime()) > ttl, nil
	}
	fate, err := lookup(ctx, id)
	if err != nil {
		return false, fmt.Errorf("failed to look up task %s: %w", id.Key(), err)
	}
	if !fate.Exists {
		s.forgetUID(id)
		return true, nil
	}
	if fate.Terminal && !fate.FinishedAt.IsZero() && now.Sub(fate.FinishedAt) > ttl {
		s.forgetUID(id)
		return true, nil
	}
	return false, nil
}

func (s *Supervisor) forgetUID(id Identity) {
	s.Forget(id.UID)
}

// Images returns the images of tasks whose root file systems are (or may be)
// mounted, which image garbage collection must keep; complete is false when
// the image of some such task is not known (an adopted container whose image
// was not found again), and no layer may be collected.
func (s *Supervisor) Images() (keep []*image.Image, complete bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	complete = true
	for _, r := range s.records {
		if r.cleaned || r.phase == PhaseFailed && r.image == nil {
			continue
		}
		if r.image == nil {
			complete = false
			continue
		}
		keep = append(keep, r.image)
	}
	return keep, complete
}
