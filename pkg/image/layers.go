package image

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
)

// unpackImage verifies the image's config and unpacks its layers.
func (s *Store) unpackImage(ctx context.Context, ref string, img v1.Image) (*Image, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("failed to read manifest of %s: %w", ref, err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("failed to read config of %s: %w", ref, err)
	}
	if err := checkDigest(m.Config.Digest, sha256.Sum256(raw)); err != nil {
		return nil, fmt.Errorf("config of %s: %w", ref, err)
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("failed to parse config of %s: %w", ref, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("image %s has %d layers but its config lists %d diff IDs", ref, len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	out := &Image{Reference: ref, Digest: digest.String(), Config: configFrom(cfg.Config)}
	for i, desc := range m.Layers {
		dir, err := s.ensureLayer(ctx, img, desc, cfg.RootFS.DiffIDs[i])
		if err != nil {
			return nil, fmt.Errorf("failed to unpack layer %s of %s: %w", desc.Digest, ref, err)
		}
		out.Layers = append(out.Layers, Layer{Digest: desc.Digest.String(), DiffID: cfg.RootFS.DiffIDs[i].String(), Dir: dir})
	}
	return out, nil
}

func checkDigest(want v1.Hash, got [32]byte) error {
	if want.Algorithm != "sha256" {
		return fmt.Errorf("unsupported digest algorithm %q", want.Algorithm)
	}
	if h := hex.EncodeToString(got[:]); h != want.Hex {
		return fmt.Errorf("%w: expected sha256:%s, content is sha256:%s", errDigest, want.Hex, h)
	}
	return nil
}

// ensureLayer unpacks a layer into layers/sha256/<diffID> unless it is there. The
// layer's lock serialises unpacks of the same layer across goroutines and
// processes; the unpack goes to a temporary directory that is renamed into place
// only after both digests checked out.
func (s *Store) ensureLayer(ctx context.Context, img v1.Image, desc v1.Descriptor, diffID v1.Hash) (string, error) {
	if diffID.Algorithm != "sha256" || desc.Digest.Algorithm != "sha256" {
		return "", fmt.Errorf("unsupported digest algorithm in %s / %s", desc.Digest, diffID)
	}
	final := s.layerDir(diffID)
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
		return final, nil // unpacked by whoever held the lock
	}
	layer, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return "", err
	}
	rc, err := layer.Compressed()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	tmp, err := s.mkTemp("layer")
	if err != nil {
		return "", err
	}
	if err := unpackVerified(tmp, rc, desc.Digest, diffID); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := commitDir(tmp, final); err != nil {
		os.RemoveAll(tmp)
		if _, statErr := os.Stat(final); statErr != nil {
			return "", err
		}
	}
	s.unpacked.Add(1)
	touch(final + ".lock")
	return final, nil
}

// unpackVerified unpacks a (gzip, zstd or uncompressed) layer blob into dir while
// hashing both the blob and the uncompressed tar, and fails unless both match.
func unpackVerified(dir string, blob io.Reader, digest, diffID v1.Hash) error {
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	blobHash := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(blob, blobHash), 1<<16)
	tarStream, closeFn, err := decompress(br)
	if err != nil {
		return err
	}
	defer closeFn()
	tarHash := sha256.New()
	tee := io.TeeReader(tarStream, tarHash)
	if err := unpackLayer(dir, tee); err != nil {
		return err
	}
	// Hash what the tar reader left (padding, trailing data) before comparing.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fmt.Errorf("failed to read layer: %w", err)
	}
	if _, err := io.Copy(io.Discard, br); err != nil {
		return fmt.Errorf("failed to read layer: %w", err)
	}
	if err := checkDigest(digest, sum(blobHash)); err != nil {
		return fmt.Errorf("layer blob: %w", err)
	}
	if err := checkDigest(diffID, sum(tarHash)); err != nil {
		return fmt.Errorf("uncompressed layer (diff ID): %w", err)
	}
	return nil
}

func sum(h hash.Hash) [32]byte {
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// decompress recognises gzip and zstd by their magic numbers; anything else is
// taken as an uncompressed tar.
func decompress(br *bufio.Reader) (io.Reader, func(), error) {
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("bad gzip layer: %w", err)
		}
		return gz, func() { gz.Close() }, nil
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("bad zstd layer: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}
