package image

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// openLayout opens the image of an OCI layout directory, or of a tar (optionally
// gzip-compressed) of one, which is extracted into the store once.
func (s *Store) openLayout(ctx context.Context, p string) (v1.Image, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		if p, err = s.extractArchive(ctx, p, fi); err != nil {
			return nil, err
		}
	}
	lp, err := layout.FromPath(p)
	if err != nil {
		return nil, fmt.Errorf("not an OCI image layout: %w", err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, err
	}
	return s.selectImage(idx)
}

// selectImage picks the image for the store's platform out of an index, following
// nested indexes. A single image is taken whatever its platform says.
func (s *Store) selectImage(idx v1.ImageIndex) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var matches []v1.Descriptor
	for _, d := range im.Manifests {
		if len(im.Manifests) == 1 || d.Platform == nil || d.Platform.Satisfies(*s.opts.Platform) {
			matches = append(matches, d)
		}
	}
	if len(matches) == 0 {
		return nil, fmt.Errorf("the index holds %d manifests, none for %s", len(im.Manifests), s.opts.Platform)
	}
	d := matches[0]
	if d.MediaType.IsIndex() {
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, err
		}
		return s.selectImage(child)
	}
	img, err := idx.Image(d.Digest)
	if err != nil {
		return nil, err
	}
	got, err := img.Digest()
	if err != nil {
		return nil, err
	}
	if got != d.Digest {
		return nil, fmt.Errorf("manifest digest mismatch: index says %s, content is %s", d.Digest, got)
	}
	return img, nil
}

// extractArchive extracts an OCI layout archive into archives/ once, keyed by the
// file's path, size and modification time.
func (s *Store) extractArchive(ctx context.Context, p string, fi os.FileInfo) (string, error) {
	key := hashString(fmt.Sprintf("%s\x00%d\x00%d", p, fi.Size(), fi.ModTime().UnixNano()))
	final := filepath.Join(s.opts.Root, "archives", key)
	if _, err := os.Stat(final); err == nil {
		touch(final + ".lock")
		return final, nil
	}
	lk, err := lockFile(ctx, final+".lock")
	if err != nil {
		return "", err
	}
	defer lk.unlock()
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	tmp, err := s.mkTemp("archive")
	if err != nil {
		return "", err
	}
	if err := extractTar(tmp, p); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("failed to extract OCI layout archive %s: %w", p, err)
	}
	if err := commitDir(tmp, final); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return final, nil
}

func extractTar(dir, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		r = gz
	}
	return unpackLayer(dir, r)
}

// fetch resolves a registry reference and picks the image for the platform.
func (s *Store) fetch(ctx context.Context, ref Reference) (v1.Image, error) {
	desc, err := remote.Get(ref.Name,
		remote.WithContext(ctx),
		remote.WithPlatform(*s.opts.Platform),
		remote.WithTransport(&httpGuard{next: s.opts.Transport, insecure: s.opts.InsecureRegistries}),
		remote.WithAuthFromKeychain(s.opts.Keychain),
	)
	if err != nil {
		return nil, err
	}
	if d, ok := ref.Name.(name.Digest); ok && d.DigestStr() != desc.Digest.String() {
		return nil, fmt.Errorf("manifest digest mismatch: asked for %s, got %s", d.DigestStr(), desc.Digest)
	}
	return desc.Image() // picks the platform's image out of an index
}

// httpGuard refuses plain-HTTP requests to hosts that are neither insecure
// registries nor loopback, so a registry cannot be downgraded to HTTP silently.
type httpGuard struct {
	next     http.RoundTripper
	insecure []string
}

// RoundTrip implements http.RoundTripper.
func (g *httpGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !isInsecure(req.URL.Host, g.insecure) && !isLoopback(req.URL.Hostname()) {
		return nil, fmt.Errorf("refusing plain HTTP to %s: it is not an insecure registry (--insecure-registry)", req.URL.Host)
	}
	return g.next.RoundTrip(req)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// policyFor resolves PullDefault for a reference.
func (s *Store) policyFor(ref Reference) PullPolicy {
	if _, ok := ref.Name.(name.Digest); ok {
		return PullIfNotPresent
	}
	if s.opts.PullPolicy != PullDefault {
		return s.opts.PullPolicy
	}
	if t, ok := ref.Name.(name.Tag); ok && t.TagStr() != "latest" && strings.Contains(ref.Name.String(), ":") {
		return PullIfNotPresent
	}
	return PullAlways
}

func (s *Store) recordPath(ref Reference) string {
	return filepath.Join(s.opts.Root, "images", hashString(ref.String())+".json")
}

// cached returns the image a reference resolved to before, when the pull policy
// allows it and all its layers are still unpacked.
func (s *Store) cached(ref Reference) *Image {
	if s.policyFor(ref) != PullIfNotPresent {
		return nil
	}
	data, err := os.ReadFile(s.recordPath(ref))
	if err != nil {
		return nil
	}
	var img Image
	if json.Unmarshal(data, &img) != nil || img.Reference != ref.String() {
		return nil
	}
	for _, l := range img.Layers {
		if _, err := os.Stat(l.Dir); err != nil {
			return nil
		}
		touch(l.Dir + ".lock")
	}
	return &img
}

// remember records what a reference resolved to; a failure only costs a pull.
func (s *Store) remember(ref Reference, img *Image) {
	data, err := json.Marshal(img)
	if err != nil {
		return
	}
	tmp := s.recordPath(ref) + ".tmp"
	if os.WriteFile(tmp, data, 0o600) == nil {
		_ = os.Rename(tmp, s.recordPath(ref))
	}
}

// errDigest reports content that does not match its digest.
var errDigest = errors.New("digest mismatch")
