package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Overlay whiteout conventions, which unpacked layers use on disk so that they can
// be overlayfs lower directories as they are.
const (
	// whiteoutPrefix marks a deleted file in an OCI layer: ".wh.NAME".
	whiteoutPrefix = ".wh."
	// opaqueMarker marks a directory whose lower contents are hidden.
	opaqueMarker = ".wh..wh..opq"
	// opaqueXattr marks an opaque directory for overlayfs.
	opaqueXattr = "trusted.overlay.opaque"
)

// ErrUnsafePath is returned (wrapped) for a layer entry that would escape the
// layer's directory: an absolute path, a ".." component, or a path through a
// symlink that points outside.
var ErrUnsafePath = errors.New("unsafe path in layer")

// unpacker writes the entries of one layer under a directory, in overlayfs form:
// a whiteout ".wh.NAME" becomes a 0/0 character device NAME, an opaque marker sets
// trusted.overlay.opaque=y on its directory. All writes go through an os.Root, so
// no symlink, in the archive or planted by an earlier entry, leads outside.
type unpacker struct {
	root *os.Root
	dirs []dirTime
}

type dirTime struct {
	name  string
	mtime time.Time
}

// unpackLayer unpacks the tar stream r into dir, which must exist.
func unpackLayer(dir string, r io.Reader) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	u := &unpacker{root: root}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("failed to read layer tar: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
	// Directory times last: creating their children changed them.
	for i := len(u.dirs) - 1; i >= 0; i-- {
		_ = root.Chtimes(u.dirs[i].name, u.dirs[i].mtime, u.dirs[i].mtime)
	}
	return nil
}

// cleanName checks a path from an archive and returns it relative and clean:
// absolute paths and ".." components are refused.
func cleanName(name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: %q is absolute", ErrUnsafePath, name)
	}
	if strings.ContainsRune(name, 0) {
		return "", fmt.Errorf("%w: %q contains NUL", ErrUnsafePath, name)
	}
	for part := range strings.SplitSeq(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: %q contains \"..\"", ErrUnsafePath, name)
		}
	}
	return path.Clean(name), nil
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // archive-wide PAX records (git archive writes one): no file
	}
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." {
		return nil // the layer's root itself
	}
	parent, base := path.Dir(name), path.Base(name)
	if err := u.mkdirParent(parent); err != nil {
		return err
	}
	switch {
	case base == opaqueMarker:
		return u.setOpaque(parent)
	case strings.HasPrefix(base, whiteoutPrefix+whiteoutPrefix):
		return nil // other AUFS metadata: ignored
	case strings.HasPrefix(base, whiteoutPrefix):
		return u.whiteout(parent, strings.TrimPrefix(base, whiteoutPrefix))
	}
	if err := u.replace(name, hdr.Typeflag == tar.TypeDir); err != nil {
		return err
	}
	if err := u.create(name, hdr, r); err != nil {
		return err
	}
	return u.setMetadata(name, hdr)
}

// mkdirParent creates the entry's parent directories (through in-root symlinks
// only).
func (u *unpacker) mkdirParent(parent string) error {
	if parent == "." {
		return nil
	}
	if err := u.root.MkdirAll(parent, 0o755); err != nil {
		return unsafe(err)
	}
	return nil
}

// unsafe marks errors of os.Root that mean a path escaped.
func unsafe(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes") {
		return fmt.Errorf("%w: %v", ErrUnsafePath, err)
	}
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) {
		return fmt.Errorf("%w: %v", ErrUnsafePath, err)
	}
	return err
}

// replace removes what is at name unless both it and the new entry are
// directories (a later entry wins; a directory merges).
func (u *unpacker) replace(name string, isDir bool) error {
	fi, err := u.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return unsafe(err)
	}
	if isDir && fi.IsDir() {
		return nil
	}
	return unsafe(u.root.RemoveAll(name))
}

func (u *unpacker) create(name string, hdr *tar.Header, r io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := u.root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return unsafe(err)
		}
		u.dirs = append(u.dirs, dirTime{name, hdr.ModTime})
		return nil
	case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // old archives use TypeRegA
		return u.writeFile(name, hdr, r)
	case tar.TypeSymlink:
		return unsafe(u.root.Symlink(hdr.Linkname, name))
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname)
		if err != nil {
			return err
		}
		return unsafe(u.root.Link(target, name))
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return u.mknod(name, hdr)
	}
	return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
}

func (u *unpacker) writeFile(name string, hdr *tar.Header, r io.Reader) error {
	f, err := u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return unsafe(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, r); err != nil {
		return err
	}
	if err := setXattrs(int(f.Fd()), hdr); err != nil {
		return err
	}
	return f.Close()
}

// setXattrs applies the entry's extended attributes (PAX SCHILY.xattr.*), except
// trusted.* ones, which only the unpacker may set (overlayfs reads them).
func setXattrs(fd int, hdr *tar.Header) error {
	for k, v := range hdr.PAXRecords {
		attr, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok || strings.HasPrefix(attr, "trusted.") {
			continue
		}
		if err := unix.Fsetxattr(fd, attr, []byte(v), 0); err != nil && !errors.Is(err, unix.ENOTSUP) {
			return fmt.Errorf("failed to set xattr %s: %w", attr, err)
		}
	}
	return nil
}

// withParent runs fn with an open descriptor of name's parent directory.
func (u *unpacker) withParent(name string, fn func(dirfd int, base string) error) error {
	dir, err := u.root.Open(path.Dir(name))
	if err != nil {
		return unsafe(err)
	}
	defer dir.Close()
	return fn(int(dir.Fd()), path.Base(name))
}

func (u *unpacker) mknod(name string, hdr *tar.Header) error {
	mode := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	return u.withParent(name, func(dirfd int, base string) error {
		return unix.Mknodat(dirfd, base, mode, int(dev))
	})
}

func (u *unpacker) whiteout(parent, target string) error {
	if target == "" || target == "." || strings.Contains(target, "/") {
		return fmt.Errorf("%w: bad whiteout for %q", ErrUnsafePath, target)
	}
	name := path.Join(parent, target)
	if err := unsafe(u.root.RemoveAll(name)); err != nil {
		return err
	}
	return u.withParent(name, func(dirfd int, base string) error {
		return unix.Mknodat(dirfd, base, unix.S_IFCHR, 0)
	})
}

func (u *unpacker) setOpaque(dir string) error {
	f, err := u.root.Open(dir)
	if err != nil {
		return unsafe(err)
	}
	defer f.Close()
	return unix.Fsetxattr(int(f.Fd()), opaqueXattr, []byte("y"), 0)
}

// setMetadata sets owner, mode, xattrs of directories and times, without following
// a symlink at name.
func (u *unpacker) setMetadata(name string, hdr *tar.Header) error {
	if err := unsafe(u.root.Lchown(name, hdr.Uid, hdr.Gid)); err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		ts := []unix.Timespec{unix.NsecToTimespec(hdr.ModTime.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
		return u.withParent(name, func(dirfd int, base string) error {
			return unix.UtimesNanoAt(dirfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
		})
	case tar.TypeLink:
		return nil // shares its target's inode, metadata included
	}
	// chown cleared setuid/setgid bits, so chmod comes after it.
	if err := unsafe(u.root.Chmod(name, hdr.FileInfo().Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeDir {
		f, err := u.root.Open(name)
		if err != nil {
			return unsafe(err)
		}
		defer f.Close()
		return setXattrs(int(f.Fd()), hdr)
	}
	return unsafe(u.root.Chtimes(name, hdr.ModTime, hdr.ModTime))
}
