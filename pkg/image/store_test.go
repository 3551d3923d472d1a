package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/gomega"

	"meseta.dev/meseta/pkg/image/imagetest"
)

func TestPullLayoutAndMount(t *testing.T) {
	tests := []struct {
		name      string
		noOverlay bool
		wantMode  RootfsMode
	}{
		{name: "overlay", wantMode: RootfsOverlay},
		{name: "copy", noOverlay: true, wantMode: RootfsCopy},
	}
	layout := busyboxLayout(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := newStore(t, Options{})
			img, err := s.Pull(t.Context(), "oci:"+layout)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(img.HostRoot).To(BeFalse())
			g.Expect(img.Digest).To(HavePrefix("sha256:"))
			g.Expect(img.Layers).To(HaveLen(1))
			g.Expect(img.Config.Cmd).To(Equal([]string{"sh"}))
			g.Expect(img.Config.Env).To(ContainElement(imagetest.BusyboxPath))

			dir := filepath.Join(t.TempDir(), "task")
			r, err := s.Mount(img, dir, MountOptions{NoOverlay: tt.noOverlay, Mountpoints: []string{"/mnt/sandbox"}})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(r.Mode).To(Equal(tt.wantMode))
			g.Expect(os.Readlink(filepath.Join(r.Path, "bin/sh"))).To(Equal("busybox"))
			g.Expect(filepath.Join(r.Path, "mnt/sandbox")).To(BeADirectory())
			fi, err := os.Stat(filepath.Join(r.Path, "tmp"))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(fi.Mode() & os.ModeSticky).NotTo(BeZero())

			// A task writes to its own root only, never to the shared layer.
			g.Expect(os.WriteFile(filepath.Join(r.Path, "etc/written"), []byte("x"), 0o644)).To(Succeed())
			g.Expect(filepath.Join(img.Layers[0].Dir, "etc/written")).NotTo(BeAnExistingFile())

			again, err := s.Mount(img, dir, MountOptions{NoOverlay: tt.noOverlay})
			g.Expect(err).NotTo(HaveOccurred(), "Mount is idempotent")
			g.Expect(again).To(Equal(r))

			g.Expect(s.Unmount(dir)).To(Succeed())
			g.Expect(filepath.Join(dir, "rootfs")).NotTo(BeADirectory())
			g.Expect(filepath.Join(dir, "upper")).NotTo(BeADirectory())
			g.Expect(s.Unmount(dir)).To(Succeed(), "Unmount is idempotent")
		})
	}
}

// whiteoutLayers are two layers: the second deletes, hides and replaces parts of
// the first.
var whiteoutLayers = [][]imagetest.Entry{
	{
		{Name: "a/"}, {Name: "a/gone", Body: "1"}, {Name: "a/kept", Body: "2"},
		{Name: "b/"}, {Name: "b/x", Body: "3"},
		{Name: "d/"}, {Name: "d/old", Body: "4"}, {Name: "d/sub/"},
		{Name: "lib", Type: tar.TypeSymlink, Linkname: "/usr/lib"},
		{Name: "file-then-dir", Body: "5"},
	},
	{
		{Name: "a/"}, {Name: "a/.wh.gone"},
		{Name: ".wh.b"},
		{Name: "d/"}, {Name: "d/.wh..wh..opq"}, {Name: "d/new", Body: "6"},
		{Name: "lib/"}, {Name: "lib/libc.so", Body: "7"},
		{Name: "file-then-dir/"},
		{Name: "suid", Body: "#!/bin/sh\n", Mode: 0o4755, UID: 1000, GID: 1001},
		{Name: "link", Type: tar.TypeSymlink, Linkname: "../../../../etc/shadow"},
		{Name: "hard1", Body: "8"}, {Name: "hard2", Type: tar.TypeLink, Linkname: "hard1"},
		{Name: "attr", Body: "9", Xattrs: map[string]string{"user.meseta": "yes"}},
	},
}

func TestWhiteoutsAndMetadata(t *testing.T) {
	tests := []struct {
		name      string
		noOverlay bool
	}{
		{name: "overlay"},
		{name: "copy", noOverlay: true},
	}
	layout := layoutOf(t, v1.Config{}, whiteoutLayers...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := newStore(t, Options{})
			img, err := s.Pull(t.Context(), "oci:"+layout)
			g.Expect(err).NotTo(HaveOccurred())
			dir := t.TempDir()
			r, err := s.Mount(img, dir, MountOptions{NoOverlay: tt.noOverlay})
			g.Expect(err).NotTo(HaveOccurred())
			t.Cleanup(func() { _ = s.Unmount(dir) })
			p := func(name string) string { return filepath.Join(r.Path, name) }

			g.Expect(p("a/gone")).NotTo(BeAnExistingFile(), "whiteout deletes")
			g.Expect(p("a/kept")).To(BeARegularFile())
			g.Expect(p("b")).NotTo(BeAnExistingFile(), "whiteout deletes a directory")
			g.Expect(dirEntries(t, p("d"))).To(ConsistOf("new"), "opaque directory hides lower contents")
			g.Expect(p("lib")).To(BeADirectory(), "a directory replaces a lower symlink")
			g.Expect(p("lib/libc.so")).To(BeARegularFile())
			g.Expect(p("file-then-dir")).To(BeADirectory())

			fi, err := os.Lstat(p("suid"))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(fi.Mode()&os.ModeSetuid).NotTo(BeZero(), "setuid bit kept")
			g.Expect(fi.Mode().Perm()).To(Equal(os.FileMode(0o755)))
			st := fi.Sys().(*syscall.Stat_t)
			g.Expect([]uint32{st.Uid, st.Gid}).To(Equal([]uint32{1000, 1001}), "owner kept")
			g.Expect(fi.ModTime().Unix()).To(Equal(imagetest.Epoch.Unix()), "mtime kept")

			g.Expect(os.Readlink(p("link"))).To(Equal("../../../../etc/shadow"), "symlinks are kept verbatim")
			h1, _ := os.Stat(p("hard1"))
			h2, _ := os.Stat(p("hard2"))
			g.Expect(os.SameFile(h1, h2)).To(BeTrue(), "hard links kept")
			buf := make([]byte, 8)
			n, err := syscall.Getxattr(p("attr"), "user.meseta", buf)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(string(buf[:n])).To(Equal("yes"))
		})
	}
}

func TestHostileLayersRefused(t *testing.T) {
	outside := t.TempDir() // stands for the host's /etc
	tests := []struct {
		name    string
		entries []imagetest.Entry
	}{
		{name: "dot-dot path", entries: []imagetest.Entry{{Name: "../../etc/passwd", Body: "pwned"}}},
		{name: "dot-dot inside a path", entries: []imagetest.Entry{{Name: "a/../../x", Body: "pwned"}}},
		{name: "absolute path", entries: []imagetest.Entry{{Name: filepath.Join(outside, "pwned"), Body: "pwned"}}},
		{name: "absolute symlink escape", entries: []imagetest.Entry{
			{Name: "evil", Type: tar.TypeSymlink, Linkname: outside},
			{Name: "evil/pwned", Body: "pwned"},
		}},
		{name: "relative symlink escape", entries: []imagetest.Entry{
			{Name: "evil", Type: tar.TypeSymlink, Linkname: "../../../../../../../../../../" + outside},
			{Name: "evil/pwned", Body: "pwned"},
		}},
		{name: "symlink then file over it", entries: []imagetest.Entry{
			{Name: "evil", Type: tar.TypeSymlink, Linkname: outside},
			{Name: "evil/sub/", Mode: 0o755},
		}},
		{name: "hard link out", entries: []imagetest.Entry{{Name: "h", Type: tar.TypeLink, Linkname: "../../../etc/passwd"}}},
		{name: "whiteout through a symlink", entries: []imagetest.Entry{
			{Name: "evil", Type: tar.TypeSymlink, Linkname: outside},
			{Name: "evil/.wh.victim"},
		}},
	}
	g := NewWithT(t)
	g.Expect(os.WriteFile(filepath.Join(outside, "victim"), []byte("safe"), 0o644)).To(Succeed())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := newStore(t, Options{})
			_, err := s.Pull(t.Context(), "oci:"+layoutOf(t, v1.Config{}, tt.entries))
			g.Expect(err).To(MatchError(ErrUnsafePath))
			g.Expect(dirEntries(t, outside)).To(ConsistOf("victim"), "nothing written outside")
			g.Expect(os.ReadFile(filepath.Join(outside, "victim"))).To(Equal([]byte("safe")))
			g.Expect(layerDirs(t, s)).To(BeEmpty(), "no layer kept")
			g.Expect(dirEntries(t, filepath.Join(s.Root(), "tmp"))).To(BeEmpty(), "temporary unpack removed")
		})
	}
}

func TestDigestMismatchRefused(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, layout string, img v1.Image)
		wantErr string
	}{
		{name: "layer blob changed", wantErr: "digest mismatch", corrupt: func(t *testing.T, layout string, img v1.Image) {
			layers, _ := img.Layers()
			d, _ := layers[0].Digest()
			rewriteBlob(t, layout, d, recompress) // same diff ID, other blob digest
		}},
		{name: "config changed", wantErr: "digest mismatch", corrupt: func(t *testing.T, layout string, img v1.Image) {
			m, _ := img.Manifest()
			rewriteBlob(t, layout, m.Config.Digest, func(b []byte) []byte { return append(b, ' ') })
		}},
		{name: "manifest changed", wantErr: "manifest digest mismatch", corrupt: func(t *testing.T, layout string, img v1.Image) {
			d, _ := img.Digest()
			rewriteBlob(t, layout, d, func(b []byte) []byte { return append(b, ' ') })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			img := imageOf(t, v1.Config{}, []imagetest.Entry{{Name: "f", Body: "data"}})
			layout, err := imagetest.WriteLayout(filepath.Join(t.TempDir(), "l"), img)
			g.Expect(err).NotTo(HaveOccurred())
			tt.corrupt(t, layout, img)
			s := newStore(t, Options{})
			_, err = s.Pull(t.Context(), "oci:"+layout)
			g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
			g.Expect(layerDirs(t, s)).To(BeEmpty())
		})
	}
}

// recompress gunzips and gzips again at another level: the same tar in another blob.
func recompress(b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		panic(err)
	}
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.NoCompression)
	if _, err := io.Copy(zw, zr); err != nil {
		panic(err)
	}
	zw.Close()
	return out.Bytes()
}

// layerDirs lists the unpacked layers of a store.
func layerDirs(t *testing.T, s *Store) []string {
	var out []string
	for _, name := range dirEntries(t, filepath.Join(s.Root(), "layers/sha256")) {
		if !strings.HasSuffix(name, ".lock") {
			out = append(out, name)
		}
	}
	return out
}

func rewriteBlob(t *testing.T, layout string, d v1.Hash, fn func([]byte) []byte) {
	t.Helper()
	p := filepath.Join(layout, "blobs", d.Algorithm, d.Hex)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, fn(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentPullsUnpackOnce(t *testing.T) {
	g := NewWithT(t)
	layout := busyboxLayout(t)
	root := filepath.Join(t.TempDir(), "store")
	// Two stores on one root stand for two agents (or a restarted one).
	stores := []*Store{newStore(t, Options{Root: root}), newStore(t, Options{Root: root})}
	var wg sync.WaitGroup
	imgs := make([]*Image, 8)
	errs := make([]error, 8)
	for i := range imgs {
		wg.Go(func() { imgs[i], errs[i] = stores[i%2].Pull(context.Background(), "oci:"+layout) })
	}
	wg.Wait()
	g.Expect(errs).To(HaveEach(BeNil()))
	g.Expect(stores[0].Unpacked() + stores[1].Unpacked()).To(Equal(int64(1)))
	for _, img := range imgs {
		g.Expect(img.Layers).To(Equal(imgs[0].Layers))
	}
	g.Expect(dirEntries(t, filepath.Join(root, "tmp"))).To(BeEmpty())
}

func TestCrashLeftoversCleaned(t *testing.T) {
	g := NewWithT(t)
	root := filepath.Join(t.TempDir(), "store")
	s := newStore(t, Options{Root: root})
	// A crashed unpack of a dead process (pid 2^22 does not exist) left a temp dir.
	g.Expect(os.MkdirAll(filepath.Join(root, "tmp", "4194304-layer-123", "etc"), 0o755)).To(Succeed())
	_ = s
	s2 := newStore(t, Options{Root: root})
	g.Expect(dirEntries(t, filepath.Join(s2.Root(), "tmp"))).To(BeEmpty())
}

func TestOCIArchive(t *testing.T) {
	g := NewWithT(t)
	layout := layoutOf(t, v1.Config{Cmd: []string{"run"}}, []imagetest.Entry{{Name: "hello", Body: "hi"}})
	archive := filepath.Join(t.TempDir(), "image.tar")
	g.Expect(imagetest.WriteTar(archive, layout)).To(Succeed())
	s := newStore(t, Options{})
	for range 2 { // the second pull reuses the extracted archive
		img, err := s.Pull(t.Context(), "oci:"+archive)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(img.Config.Cmd).To(Equal([]string{"run"}))
		g.Expect(filepath.Join(img.Layers[0].Dir, "hello")).To(BeARegularFile())
	}
	g.Expect(dirEntries(t, filepath.Join(s.Root(), "archives"))).To(HaveLen(2)) // dir and lock
	g.Expect(s.Unpacked()).To(Equal(int64(1)))
}

func TestHostRoot(t *testing.T) {
	g := NewWithT(t)
	s := newStore(t, Options{})
	img, err := s.Pull(t.Context(), "")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(img.HostRoot).To(BeTrue())
	dir := t.TempDir()
	r, err := s.Mount(img, dir, MountOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { g.Expect(s.Unmount(dir)).To(Succeed()) }()
	g.Expect(r.ReadOnly).To(BeTrue())
	g.Expect(r.Mode).To(Equal(RootfsHostRoot))
	g.Expect(filepath.Join(r.Path, "etc/passwd")).To(BeARegularFile())
	err = os.WriteFile(filepath.Join(r.Path, "etc/meseta-test"), nil, 0o644)
	g.Expect(err).To(MatchError(syscall.EROFS))
	// Submounts are read-only too (the test's own temporary directory is below "/").
	err = os.WriteFile(filepath.Join(r.Path, t.TempDir(), "x"), nil, 0o644)
	g.Expect(err).To(MatchError(syscall.EROFS))
}

// TestHostRootsDoNotNest: a host root mounted after others does not clone
// them: the mount table grows by one host root per mount, not twice over.
func TestHostRootsDoNotNest(t *testing.T) {
	g := NewWithT(t)
	s := newStore(t, Options{})
	img, err := s.Pull(t.Context(), "")
	g.Expect(err).NotTo(HaveOccurred())
	before := mountCount(t)
	const n = 8
	for range n {
		dir := t.TempDir()
		_, err := s.Mount(img, dir, MountOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		t.Cleanup(func() { g.Expect(s.Unmount(dir)).To(Succeed()) })
	}
	// Nested clones would make 2^n-1 copies of the host's mounts.
	g.Expect(mountCount(t) - before).To(BeNumerically("<=", n*before))
}

func mountCount(t *testing.T) int {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}

func TestGC(t *testing.T) {
	g := NewWithT(t)
	s := newStore(t, Options{})
	keep, err := s.Pull(t.Context(), "oci:"+layoutOf(t, v1.Config{}, []imagetest.Entry{{Name: "keep", Body: "1"}}))
	g.Expect(err).NotTo(HaveOccurred())
	drop, err := s.Pull(t.Context(), "oci:"+layoutOf(t, v1.Config{}, []imagetest.Entry{{Name: "drop", Body: "2"}}))
	g.Expect(err).NotTo(HaveOccurred())

	removed, err := s.GC([]*Image{keep}, time.Hour)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(removed).To(BeEmpty(), "recently used layers stay")

	removed, err = s.GC([]*Image{keep}, 0)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(removed).To(ConsistOf(drop.Layers[0].Dir))
	g.Expect(keep.Layers[0].Dir).To(BeADirectory())
	g.Expect(drop.Layers[0].Dir).NotTo(BeADirectory())

	again, err := s.Pull(t.Context(), "oci:"+layoutOf(t, v1.Config{}, []imagetest.Entry{{Name: "drop", Body: "2"}}))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(filepath.Join(again.Layers[0].Dir, "drop")).To(BeARegularFile(), "unpacked again after GC")
}
