package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// tailer copies a task's output file, and with follow keeps copying what is
// appended (tail -f) until the task is terminal and everything is copied.
type tailer struct {
	tasks           TaskFiles
	namespace, name string
	stream          Stream
	poll            time.Duration
}

func (t *tailer) copy(ctx context.Context, w io.Writer, follow bool) error {
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		dir, terminal, found := t.tasks.Sandbox(t.namespace, t.name)
		if f == nil && dir != "" {
			var err error
			if f, err = openNoFollow(filepath.Join(dir, string(t.stream))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		if f != nil {
			if err := drain(f, w, buf); err != nil {
				return err
			}
		}
		// Output written before the task became terminal is copied by the
		// drain above, as terminal was read before it.
		if !follow || terminal || !found {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(t.poll):
		}
	}
}

// drain copies f from its offset to its end.
func drain(f *os.File, w io.Writer, buf []byte) error {
	for {
		n, err := f.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) || n == 0 && err == nil {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// openNoFollow opens a regular file without following a symlink: the sandbox
// belongs to the task, which could replace its output with a link to a host
// file.
func openNoFollow(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, fs.ErrNotExist
		}
		return nil, fmt.Errorf("failed to open %s: %w", filepath.Base(path), err)
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", filepath.Base(path))
	}
	return f, nil
}
