package imagetest

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Epoch is the modification time of every entry that does not set one, so that
// layers built twice from the same entries have the same digest.
var Epoch = time.Unix(1700000000, 0).UTC()

// Entry is one tar entry of a layer.
type Entry struct {
	// Name is the path in the archive, used as is (it may be hostile on purpose).
	Name string
	// Type is the tar type flag; default tar.TypeReg (or tar.TypeDir when Name
	// ends with "/").
	Type byte
	// Mode is the permission bits and setuid/setgid/sticky bits; default 0644 for
	// files and 0755 for directories.
	Mode int64
	// Body is a regular file's content.
	Body string
	// Linkname is the target of a symlink or hard link.
	Linkname string
	// UID and GID own the entry.
	UID, GID int
	// Xattrs are extended attributes, stored as PAX records.
	Xattrs map[string]string
	// Devmajor and Devminor are a device node's numbers.
	Devmajor, Devminor int64
}

// Tar writes entries to an uncompressed tar stream.
func Tar(entries ...Entry) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := e.header()
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("failed to write tar entry %q: %w", e.Name, err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, e.Body); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (e Entry) header() *tar.Header {
	typ := e.Type
	if typ == 0 {
		typ = tar.TypeReg
		if len(e.Name) > 0 && e.Name[len(e.Name)-1] == '/' {
			typ = tar.TypeDir
		}
	}
	mode := e.Mode
	if mode == 0 {
		mode = 0o644
		if typ == tar.TypeDir {
			mode = 0o755
		}
	}
	hdr := &tar.Header{
		Typeflag: typ, Name: e.Name, Linkname: e.Linkname, Mode: mode,
		Uid: e.UID, Gid: e.GID, ModTime: Epoch, Format: tar.FormatPAX,
		Devmajor: e.Devmajor, Devminor: e.Devminor,
	}
	if typ == tar.TypeReg {
		hdr.Size = int64(len(e.Body))
	}
	for k, v := range e.Xattrs {
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+k] = v
	}
	return hdr
}

// Layer builds a gzip-compressed layer from tar entries.
func Layer(entries ...Entry) (v1.Layer, error) {
	data, err := Tar(entries...)
	if err != nil {
		return nil, err
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// Image stacks layers (lowest first) on an empty linux/amd64 image with cfg as its
// configuration.
func Image(cfg v1.Config, layers ...v1.Layer) (v1.Image, error) {
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		return nil, err
	}
	file, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	file = file.DeepCopy()
	file.Config = cfg
	file.OS, file.Architecture = "linux", "amd64"
	file.Created = v1.Time{Time: Epoch}
	return mutate.ConfigFile(img, file)
}

// WriteLayout writes an OCI image layout holding img to dir, which must not exist
// or be empty, and returns dir.
func WriteLayout(dir string, img v1.Image) (string, error) {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", fmt.Errorf("failed to write OCI layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": "latest",
	})); err != nil {
		return "", fmt.Errorf("failed to write image to OCI layout %s: %w", dir, err)
	}
	return dir, nil
}

// WriteTar writes the files of the directory dir to a tar file at path (used to
// make an OCI layout archive).
func WriteTar(path, dir string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(data)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}
