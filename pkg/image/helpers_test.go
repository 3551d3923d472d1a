package image

import (
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"meseta.dev/meseta/pkg/image/imagetest"
)

// layoutOf writes an OCI layout of an image made of the given layers (each a list
// of entries, lowest first) and returns its path.
func layoutOf(t *testing.T, cfg v1.Config, layers ...[]imagetest.Entry) string {
	t.Helper()
	img := imageOf(t, cfg, layers...)
	dir, err := imagetest.WriteLayout(filepath.Join(t.TempDir(), "layout"), img)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func imageOf(t *testing.T, cfg v1.Config, layers ...[]imagetest.Entry) v1.Image {
	t.Helper()
	var ls []v1.Layer
	for _, entries := range layers {
		l, err := imagetest.Layer(entries...)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	img, err := imagetest.Image(cfg, ls...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newStore(t *testing.T, opts Options) *Store {
	t.Helper()
	if opts.Root == "" {
		opts.Root = filepath.Join(t.TempDir(), "store")
	}
	s, err := NewStore(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func busyboxLayout(t *testing.T) string {
	t.Helper()
	dir, err := imagetest.WriteBusyboxLayout(t.TempDir(), imagetest.HostBusybox)
	if err != nil {
		t.Fatalf("%v (run hack/install-deps.sh)", err)
	}
	return dir
}

func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
