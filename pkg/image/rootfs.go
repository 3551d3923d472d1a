package image

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// RootfsMode is how a task's root file system was assembled.
type RootfsMode string

// Root file system modes.
const (
	// RootfsOverlay is an overlayfs mount: the image's layers as read-only lower
	// directories, a per-task upper and work directory.
	RootfsOverlay RootfsMode = "overlay"
	// RootfsCopy is a per-task copy of the layers, applied in order, for kernels
	// or file systems without overlayfs.
	RootfsCopy RootfsMode = "copy"
	// RootfsHostRoot is a recursive, read-only, private bind mount of the host's
	// "/" (the empty image).
	RootfsHostRoot RootfsMode = "hostroot"
)

// Rootfs is an assembled root file system under a task's directory.
type Rootfs struct {
	// Path is the directory to use as the container's root.
	Path string `json:"path"`
	// Mode says how it was assembled.
	Mode RootfsMode `json:"mode"`
	// ReadOnly is true when the container must not write to it (the host root).
	ReadOnly bool `json:"readOnly,omitempty"`
}

// MountOptions tune Mount.
type MountOptions struct {
	// Mountpoints are directories that must exist in the root file system because
	// the runtime mounts over them (for example "/mnt/sandbox"). In a writable
	// root they are created in the task's upper layer; for the host root they
	// are created on the host before it is bound read-only.
	Mountpoints []string
	// NoOverlay forces a copy even where overlayfs works.
	NoOverlay bool
}

const rootfsRecord = "rootfs.json"

// Mount assembles the root file system of img under dir (a task's own directory,
// created if missing): dir/rootfs, with dir/upper and dir/work for overlayfs. It is
// idempotent: a root file system already assembled under dir (before an agent
// restart, say) is returned as it is.
func (s *Store) Mount(img *Image, dir string, opts MountOptions) (*Rootfs, error) {
	if r, err := readRootfs(dir); err == nil && isMountedOrCopy(r) {
		return r, nil
	}
	target := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(target, 0o755); err != nil {
		return nil, err
	}
	var r *Rootfs
	var err error
	switch {
	case img.HostRoot:
		r, err = mountHostRoot(target, opts.Mountpoints)
	case !opts.NoOverlay:
		r, err = mountOverlay(img, dir, target)
		if err != nil && !errors.Is(err, errNoOverlay) {
			return nil, err
		}
	}
	if r == nil && err == nil || errors.Is(err, errNoOverlay) {
		r, err = copyLayers(img, target)
	}
	if err != nil {
		return nil, err
	}
	if !r.ReadOnly {
		if err := makeMountpoints(r.Path, opts.Mountpoints); err != nil {
			_ = s.Unmount(dir)
			return nil, err
		}
	}
	if err := writeRootfs(dir, r); err != nil {
		_ = s.Unmount(dir)
		return nil, err
	}
	return r, nil
}

func isMountedOrCopy(r *Rootfs) bool {
	if r.Mode == RootfsCopy {
		return true
	}
	mounted, err := isMountpoint(r.Path)
	return err == nil && mounted
}

func readRootfs(dir string) (*Rootfs, error) {
	data, err := os.ReadFile(filepath.Join(dir, rootfsRecord))
	if err != nil {
		return nil, err
	}
	var r Rootfs
	return &r, json.Unmarshal(data, &r)
}

func writeRootfs(dir string, r *Rootfs) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, rootfsRecord), data, 0o600)
}

// makeMountpoints creates directories inside a writable root, never following a
// symlink out of it.
func makeMountpoints(rootfs string, mountpoints []string) error {
	if len(mountpoints) == 0 {
		return nil
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, m := range mountpoints {
		if err := root.MkdirAll(strings.TrimPrefix(filepath.Clean(m), "/"), 0o755); err != nil {
			return fmt.Errorf("failed to create mount point %s in the root file system: %w", m, err)
		}
	}
	return nil
}

// errNoOverlay means overlayfs is not available; Mount copies instead.
var errNoOverlay = errors.New("overlayfs is not available")

// maxMountData is the most a mount(2) data page holds.
const maxMountData = 4096 - 1

func mountOverlay(img *Image, dir, target string) (*Rootfs, error) {
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	for _, d := range []string{upper, work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if len(img.Layers) == 0 {
		return nil, errNoOverlay // nothing to stack: a copy is an empty dir
	}
	lowers := make([]string, 0, len(img.Layers))
	for _, l := range slices.Backward(img.Layers) {
		lowers = append(lowers, l.Dir) // the first lowerdir is the top one
	}
	// The new mount API takes each path whole, so no path needs escaping; kernels
	// before 6.8 (no "lowerdir+") get a classic mount(2) with escaped paths.
	err := mountOverlayFsconfig(lowers, upper, work, target)
	if err != nil && !errors.Is(err, unix.EBUSY) {
		escaped := make([]string, len(lowers))
		for i, l := range lowers {
			escaped[i] = escapeOverlayPath(l)
		}
		data := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(escaped, ":"), escapeOverlayPath(upper), escapeOverlayPath(work))
		if len(data) <= maxMountData {
			err = unix.Mount("overlay", target, "overlay", 0, data)
		}
	}
	switch {
	case err == nil:
		return &Rootfs{Path: target, Mode: RootfsOverlay}, nil
	case errors.Is(err, unix.ENODEV), errors.Is(err, unix.EINVAL), errors.Is(err, unix.EPERM), errors.Is(err, unix.ENOSYS):
		return nil, fmt.Errorf("%w: %v", errNoOverlay, err)
	}
	return nil, fmt.Errorf("failed to mount overlay at %s: %w", target, err)
}

// escapeOverlayPath escapes the separators of overlayfs' mount options.
func escapeOverlayPath(p string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`, `:`, `\:`).Replace(p)
}

// mountOverlayFsconfig mounts an overlay with the new mount API, adding the
// layers one by one ("lowerdir+", Linux 6.8): no length limit, no escaping.
func mountOverlayFsconfig(lowers []string, upper, work, target string) error {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(fsfd)
	for _, l := range lowers {
		if err := unix.FsconfigSetString(fsfd, "lowerdir+", l); err != nil {
			return err
		}
	}
	if err := unix.FsconfigSetString(fsfd, "upperdir", upper); err != nil {
		return err
	}
	if err := unix.FsconfigSetString(fsfd, "workdir", work); err != nil {
		return err
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return err
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(mfd)
	return unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
}

// mountHostRoot binds the host's "/" at target, recursively read-only and
// unbindable: the tree is cloned detached, made read-only and unbindable, and
// only then attached, so no writable or propagating moment exists. Unbindable
// (private, and left out of recursive clones) keeps the next host root's
// clone from holding this one: each would otherwise copy every host root
// mounted before it, and the mount table would double with each task. The
// runtime makes the container's copy a slave mount, which it may bind. Mount
// points that the runtime needs are created on the host first, because they
// cannot be created in a read-only tree.
func mountHostRoot(target string, mountpoints []string) (*Rootfs, error) {
	for _, m := range mountpoints {
		if err := os.MkdirAll(filepath.Join("/", m), 0o755); err != nil {
			return nil, fmt.Errorf("failed to create mount point %s on the host: %w", m, err)
		}
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return nil, fmt.Errorf("failed to clone the host root: %w", err)
	}
	defer unix.Close(fd)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID, Propagation: unix.MS_UNBINDABLE}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
		return nil, fmt.Errorf("failed to make the host root read-only: %w", err)
	}
	if err := unix.MoveMount(fd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return nil, fmt.Errorf("failed to mount the host root at %s: %w", target, err)
	}
	return &Rootfs{Path: target, Mode: RootfsHostRoot, ReadOnly: true}, nil
}

// Unmount tears down what Mount assembled under dir: it unmounts dir/rootfs (the
// whole tree, lazily) and removes dir/rootfs, dir/upper and dir/work. It never
// removes anything below a path that is still a mount point. It is idempotent.
func (s *Store) Unmount(dir string) error {
	target := filepath.Join(dir, "rootfs")
	for range 16 {
		err := unix.Unmount(target, unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			break // not (or no longer) a mount point
		}
		if err != nil {
			return fmt.Errorf("failed to unmount %s: %w", target, err)
		}
	}
	if mounted, err := isMountpoint(target); err != nil || mounted {
		return fmt.Errorf("refusing to remove %s: still mounted (%v)", target, err)
	}
	var errs []error
	for _, d := range []string{target, filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, rootfsRecord)} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// isMountpoint tells whether path is the mount point of a mount of this process's
// mount namespace.
func isMountpoint(path string) (bool, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false, err
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && unescapeMountinfo(fields[4]) == abs {
			return true, nil
		}
	}
	return false, sc.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 for space) of mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
