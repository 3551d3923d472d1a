package image

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// copyLayers assembles a root file system by applying the unpacked layers in
// order onto target, with overlayfs' semantics: a 0/0 character device deletes
// what lower layers had at its path, an opaque directory hides their contents,
// and an entry of a different kind replaces a lower one. Writes go through an
// os.Root of target, so symlinks of lower layers never lead outside.
func copyLayers(img *Image, target string) (*Rootfs, error) {
	root, err := os.OpenRoot(target)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	for _, l := range img.Layers {
		if err := applyLayer(root, l.Dir); err != nil {
			return nil, fmt.Errorf("failed to copy layer %s: %w", l.Digest, err)
		}
	}
	return &Rootfs{Path: target, Mode: RootfsCopy}, nil
}

func applyLayer(root *os.Root, src string) error {
	links := map[uint64]string{} // inode -> first path, to keep hard links
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		if isWhiteout(fi, st) {
			return unsafe(root.RemoveAll(rel))
		}
		if err := replaceInTarget(root, rel, fi); err != nil {
			return err
		}
		if fi.IsDir() {
			return copyDir(root, p, rel, fi, st)
		}
		if st.Nlink > 1 {
			if first, ok := links[st.Ino]; ok {
				return unsafe(root.Link(first, rel))
			}
			links[st.Ino] = rel
		}
		return copyEntry(root, p, rel, fi, st)
	})
}

func isWhiteout(fi fs.FileInfo, st *syscall.Stat_t) bool {
	return fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0
}

// replaceInTarget removes what a lower layer has at rel unless both are
// directories.
func replaceInTarget(root *os.Root, rel string, fi fs.FileInfo) error {
	old, err := root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return unsafe(err)
	}
	if old.IsDir() && fi.IsDir() {
		return nil
	}
	return unsafe(root.RemoveAll(rel))
}

func copyDir(root *os.Root, src, rel string, fi fs.FileInfo, st *syscall.Stat_t) error {
	if err := root.Mkdir(rel, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return unsafe(err)
	}
	if opaque, _ := getxattr(src, opaqueXattr); opaque == "y" {
		entries, err := readDirIn(root, rel)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := unsafe(root.RemoveAll(filepath.Join(rel, e))); err != nil {
				return err
			}
		}
	}
	return copyMetadata(root, src, rel, fi, st)
}

func readDirIn(root *os.Root, rel string) ([]string, error) {
	f, err := root.Open(rel)
	if err != nil {
		return nil, unsafe(err)
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

func copyEntry(root *os.Root, src, rel string, fi fs.FileInfo, st *syscall.Stat_t) error {
	switch {
	case fi.Mode().IsRegular():
		if err := copyFile(root, src, rel); err != nil {
			return err
		}
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := unsafe(root.Symlink(target, rel)); err != nil {
			return err
		}
		return unsafe(root.Lchown(rel, int(st.Uid), int(st.Gid)))
	default: // devices, fifos, sockets
		parent, err := root.Open(filepath.Dir(rel))
		if err != nil {
			return unsafe(err)
		}
		err = unix.Mknodat(int(parent.Fd()), filepath.Base(rel), st.Mode, int(st.Rdev))
		parent.Close()
		if err != nil {
			return err
		}
	}
	return copyMetadata(root, src, rel, fi, st)
}

func copyFile(root *os.Root, src, rel string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return unsafe(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil { // copy_file_range where it can
		return err
	}
	if err := copyXattrs(int(in.Fd()), int(out.Fd())); err != nil {
		return err
	}
	return out.Close()
}

// copyMetadata copies owner, mode and modification time (not for symlinks).
func copyMetadata(root *os.Root, src, rel string, fi fs.FileInfo, st *syscall.Stat_t) error {
	if err := unsafe(root.Lchown(rel, int(st.Uid), int(st.Gid))); err != nil {
		return err
	}
	if err := unsafe(root.Chmod(rel, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))); err != nil {
		return err
	}
	return unsafe(root.Chtimes(rel, fi.ModTime(), fi.ModTime()))
}

// copyXattrs copies extended attributes except trusted.* ones.
func copyXattrs(from, to int) error {
	buf := make([]byte, 4096)
	n, err := unix.Flistxattr(from, buf)
	if err != nil || n <= 0 {
		return nil //nolint:nilerr // no xattrs, or none supported
	}
	for _, name := range splitNull(buf[:n]) {
		if len(name) >= 8 && name[:8] == "trusted." {
			continue
		}
		val := make([]byte, 65536)
		m, err := unix.Fgetxattr(from, name, val)
		if err != nil {
			continue
		}
		if err := unix.Fsetxattr(to, name, val[:m], 0); err != nil && !errors.Is(err, unix.ENOTSUP) {
			return fmt.Errorf("failed to copy xattr %s: %w", name, err)
		}
	}
	return nil
}

func splitNull(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}

func getxattr(path, name string) (string, error) {
	buf := make([]byte, 16)
	n, err := unix.Lgetxattr(path, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
