package image

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Kind is where an image comes from.
type Kind string

// Kinds of image references.
const (
	// KindHostRoot is the empty image: the host's root file system, read-only.
	KindHostRoot Kind = "HostRoot"
	// KindLayout is an OCI image layout directory, or a tar of one, on the agent:
	// "oci:PATH".
	KindLayout Kind = "Layout"
	// KindRegistry is an image in a registry: "host:port/name:tag" or
	// "host/name@sha256:...".
	KindRegistry Kind = "Registry"
)

// LayoutPrefix introduces an OCI image layout reference.
const LayoutPrefix = "oci:"

// Reference is a parsed container.image.
type Reference struct {
	// Kind says where the image comes from.
	Kind Kind
	// Path is the absolute path of an OCI layout (KindLayout).
	Path string
	// Name is the registry reference (KindRegistry).
	Name name.Reference
}

// String returns the reference as written, normalised.
func (r Reference) String() string {
	switch r.Kind {
	case KindLayout:
		return LayoutPrefix + r.Path
	case KindRegistry:
		return r.Name.Name()
	}
	return ""
}

// ParseReference parses a container.image: "" (the host root), "oci:PATH" (PATH
// absolute, or relative to the agent's working directory) or a registry reference.
// Registries in insecure (host or host:port) are reached over plain HTTP.
func ParseReference(image string, insecure []string) (Reference, error) {
	image = strings.TrimSpace(image)
	switch {
	case image == "":
		return Reference{Kind: KindHostRoot}, nil
	case strings.HasPrefix(image, LayoutPrefix):
		p := strings.TrimPrefix(image, LayoutPrefix)
		if p == "" {
			return Reference{}, errors.New(`invalid image "oci:": the OCI layout path is empty; use oci:PATH`)
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return Reference{}, fmt.Errorf("invalid image %q: %w", image, err)
		}
		return Reference{Kind: KindLayout, Path: abs}, nil
	}
	ref, err := name.ParseReference(image, name.WeakValidation)
	if err != nil {
		return Reference{}, fmt.Errorf("invalid image %q: %w; use oci:PATH, REGISTRY/NAME:TAG or REGISTRY/NAME@sha256:DIGEST", image, err)
	}
	if isInsecure(ref.Context().RegistryStr(), insecure) {
		ref, err = name.ParseReference(image, name.WeakValidation, name.Insecure)
		if err != nil {
			return Reference{}, fmt.Errorf("invalid image %q: %w", image, err)
		}
	}
	return Reference{Kind: KindRegistry, Name: ref}, nil
}

// isInsecure tells whether a registry (host[:port]) is listed, either exactly or by
// its host alone.
func isInsecure(registry string, insecure []string) bool {
	host, _, _ := strings.Cut(registry, ":")
	return slices.Contains(insecure, registry) || slices.Contains(insecure, host)
}
