package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PullPolicy says when a registry image is fetched again.
type PullPolicy string

// Pull policies, as in Kubernetes.
const (
	// PullIfNotPresent uses an image pulled before under the same reference; a
	// reference by digest never needs the registry twice.
	PullIfNotPresent PullPolicy = "IfNotPresent"
	// PullAlways resolves the reference at the registry on every Pull (layers
	// already unpacked are not fetched again).
	PullAlways PullPolicy = "Always"
	// PullDefault is PullAlways for ":latest" and untagged references and
	// PullIfNotPresent for the others.
	PullDefault PullPolicy = ""
)

// Options configure a Store.
type Options struct {
	// Root is the directory of the store; it is created if missing.
	Root string
	// InsecureRegistries are registries (host or host:port) reached over plain
	// HTTP. Other registries are reached over HTTPS only, except loopback ones,
	// which go-containerregistry tries over HTTP after HTTPS.
	InsecureRegistries []string
	// Platform selects the image of a multi-platform index; default linux and the
	// agent's architecture (linux/amd64 here).
	Platform *v1.Platform
	// Transport is the HTTP transport to registries; default
	// http.DefaultTransport. Plain HTTP is refused to hosts that are neither
	// insecure nor loopback, whatever the transport.
	Transport http.RoundTripper
	// Keychain supplies registry credentials; default anonymous.
	Keychain authn.Keychain
	// PullPolicy says when registry images are fetched again; default PullDefault.
	PullPolicy PullPolicy
}

// Store pulls images, unpacks their layers once per digest under Root, and
// assembles task root file systems from them. It is safe for concurrent use, also
// by several processes sharing Root.
//
// Layout of Root:
//
//	layers/sha256/<diffID>/       an unpacked layer (overlayfs whiteout form), complete once present
//	layers/sha256/<diffID>.lock   lock of that layer; its mtime is the layer's last use
//	archives/<key>/               OCI layouts extracted from tar archives
//	images/<sha256(ref)>.json     what a registry reference resolved to, for PullIfNotPresent
//	tmp/                          unpacks in progress; emptied by NewStore
type Store struct {
	opts     Options
	unpacked atomic.Int64 // layers unpacked by this Store, for tests and metrics
}

// Image is a pulled image, ready to be assembled into a root file system.
type Image struct {
	// Reference is the image as the task named it, normalised.
	Reference string `json:"reference"`
	// HostRoot is true for the empty image: the host's root file system,
	// read-only; Digest, Layers and Config are then empty.
	HostRoot bool `json:"hostRoot,omitempty"`
	// Digest is the digest of the image manifest.
	Digest string `json:"digest,omitempty"`
	// Layers are the image's layers, lowest first.
	Layers []Layer `json:"layers,omitempty"`
	// Config is the image's configuration: entrypoint, cmd, env, working dir, user.
	Config Config `json:"config"`
}

// Layer is an unpacked layer.
type Layer struct {
	// Digest is the digest of the layer as stored (usually compressed).
	Digest string `json:"digest"`
	// DiffID is the digest of the uncompressed layer; it names the directory.
	DiffID string `json:"diffID"`
	// Dir is the directory holding the unpacked layer.
	Dir string `json:"dir"`
}

// NewStore creates the store's directories and removes unpacks that a crash left
// half done.
func NewStore(opts Options) (*Store, error) {
	if opts.Root == "" {
		return nil, errors.New("image store: Root is required")
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, err
	}
	opts.Root = root
	if opts.Platform == nil {
		opts.Platform = &v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}
	if opts.Keychain == nil {
		opts.Keychain = authn.NewMultiKeychain() // anonymous
	}
	for _, dir := range []string{"layers/sha256", "archives", "images", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o700); err != nil {
			return nil, fmt.Errorf("failed to create image store: %w", err)
		}
	}
	if err := cleanTmp(filepath.Join(root, "tmp")); err != nil {
		return nil, err
	}
	return &Store{opts: opts}, nil
}

// cleanTmp removes leftovers of unpacks that crashed. An unpack in progress in
// another process holds a lock on its layer, and its temporary directory is named
// after its pid, so only directories of dead processes are removed.
func cleanTmp(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d-", &pid); err == nil && pid != os.Getpid() && processAlive(pid) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("failed to clean image store tmp: %w", err)
		}
	}
	return nil
}

// Unpacked returns how many layers this Store has unpacked (not found unpacked).
func (s *Store) Unpacked() int64 { return s.unpacked.Load() }

// Root returns the store's directory.
func (s *Store) Root() string { return s.opts.Root }

// Pull resolves a container.image (see ParseReference), verifies the manifest,
// config and every layer against their digests, unpacks the layers that are not
// unpacked yet, and returns the image. The empty image yields an Image with
// HostRoot set.
func (s *Store) Pull(ctx context.Context, image string) (*Image, error) {
	ref, err := ParseReference(image, s.opts.InsecureRegistries)
	if err != nil {
		return nil, err
	}
	switch ref.Kind {
	case KindHostRoot:
		return &Image{HostRoot: true}, nil
	case KindLayout:
		img, err := s.openLayout(ctx, ref.Path)
		if err != nil {
			return nil, fmt.Errorf("failed to open image %s: %w", ref, err)
		}
		return s.unpackImage(ctx, ref.String(), img)
	}
	if cached := s.cached(ref); cached != nil {
		return cached, nil
	}
	img, err := s.fetch(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("failed to pull image %s: %w", ref, err)
	}
	out, err := s.unpackImage(ctx, ref.String(), img)
	if err != nil {
		return nil, err
	}
	s.remember(ref, out)
	return out, nil
}

func (s *Store) layerDir(diffID v1.Hash) string {
	return filepath.Join(s.opts.Root, "layers", diffID.Algorithm, diffID.Hex)
}

func hashString(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// touch records a use of a layer or archive for garbage collection.
func touch(path string) {
	now := time.Now()
	_ = os.Chtimes(path, now, now)
}
