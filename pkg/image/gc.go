package image

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// GC removes unpacked layers and extracted archives that no image in keep uses
// and that were last used longer than minAge ago, and forgets registry references
// whose layers are gone. A layer that is being unpacked, or whose lock someone
// holds, is left alone. The caller passes in keep every image of a task that
// still has a root file system, and of tasks being launched; minAge protects
// images pulled for launches it does not know about yet. It returns the removed
// directories.
func (s *Store) GC(keep []*Image, minAge time.Duration) ([]string, error) {
	inUse := map[string]bool{}
	for _, img := range keep {
		for _, l := range img.Layers {
			inUse[l.Dir] = true
		}
	}
	var removed []string
	for _, parent := range []string{filepath.Join(s.opts.Root, "layers", "sha256"), filepath.Join(s.opts.Root, "archives")} {
		entries, err := os.ReadDir(parent)
		if err != nil {
			return removed, err
		}
		for _, e := range entries {
			dir := filepath.Join(parent, e.Name())
			if !e.IsDir() || inUse[dir] {
				continue
			}
			ok, err := s.removeIfUnused(dir, minAge)
			if err != nil {
				return removed, err
			}
			if ok {
				removed = append(removed, dir)
			}
		}
	}
	return removed, s.forgetMissing()
}

// removeIfUnused removes dir if its lock is free and its last use is older than
// minAge. The directory is renamed into tmp first, so it vanishes at once.
func (s *Store) removeIfUnused(dir string, minAge time.Duration) (bool, error) {
	lockPath := dir + ".lock"
	fi, err := os.Stat(lockPath)
	if err == nil && time.Since(fi.ModTime()) < minAge {
		return false, nil
	}
	lk, ok := tryLockFile(lockPath)
	if !ok && err == nil {
		return false, nil // in use right now
	}
	if lk != nil {
		defer lk.unlock()
	}
	trash, err := s.mkTemp("gc")
	if err != nil {
		return false, err
	}
	if err := os.Rename(dir, filepath.Join(trash, "x")); err != nil {
		os.RemoveAll(trash)
		return false, fmt.Errorf("failed to remove %s: %w", dir, err)
	}
	return true, os.RemoveAll(trash)
}

// forgetMissing drops reference records that name layers no longer present.
func (s *Store) forgetMissing() error {
	dir := filepath.Join(s.opts.Root, "images")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var img Image
		if json.Unmarshal(data, &img) != nil {
			_ = os.Remove(p)
			continue
		}
		for _, l := range img.Layers {
			if _, err := os.Stat(l.Dir); err != nil {
				_ = os.Remove(p)
				break
			}
		}
	}
	return nil
}
