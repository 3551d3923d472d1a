package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// fileLock is an exclusive flock(2) on a file. flock locks belong to the open
// file, so it excludes other goroutines of this process as well as other
// processes.
type fileLock struct{ f *os.File }

// lockFile takes an exclusive lock on path, creating it, waiting until ctx ends.
func lockFile(ctx context.Context, path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return &fileLock{f: f}, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("failed to lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}

// tryLockFile takes the lock only if it is free.
func tryLockFile(path string) (*fileLock, bool) {
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		f.Close()
		return nil, false
	}
	return &fileLock{f: f}, true
}

func (l *fileLock) unlock() { l.f.Close() }

// commitDir makes the fully written directory tmp appear at final: it syncs the
// file system, so that a crash never leaves a complete-looking directory with
// missing data, then renames.
func commitDir(tmp, final string) error {
	if f, err := os.Open(tmp); err == nil {
		_ = unix.Syncfs(int(f.Fd()))
		f.Close()
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(final)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// mkTemp makes a directory for work in progress, named after this process so
// that cleanTmp of another process leaves it alone.
func (s *Store) mkTemp(kind string) (string, error) {
	return os.MkdirTemp(filepath.Join(s.opts.Root, "tmp"), fmt.Sprintf("%d-%s-", os.Getpid(), kind))
}

func processAlive(pid int) bool {
	return unix.Kill(pid, 0) == nil || errors.Is(unix.Kill(pid, 0), unix.EPERM)
}
