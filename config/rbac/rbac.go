package rbac

import (
	"embed"
	"io/fs"
)

// FS holds the RBAC manifests, one or more YAML documents per file.
//
//go:embed *.yaml
var FS embed.FS

// Files returns the names of the manifests in FS, in the order they are applied.
func Files() []string {
	names, err := fs.Glob(FS, "*.yaml")
	if err != nil {
		// The pattern is a constant and valid.
		panic(err)
	}
	return names
}
