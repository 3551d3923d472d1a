package policy

import (
	"embed"
	"io/fs"
)

// FS holds the manifests (*.yaml, one or more documents each) and the audit
// policy (audit/audit-policy.yaml).
//
//go:embed *.yaml audit/audit-policy.yaml
var FS embed.FS

// Files returns the names of the manifests in FS that hold API objects, in the
// order they are applied.
func Files() []string {
	names, err := fs.Glob(FS, "*.yaml")
	if err != nil {
		// The pattern is a constant and valid.
		panic(err)
	}
	return names
}

// AuditPolicy returns the default audit policy, an audit.k8s.io/v1 Policy.
func AuditPolicy() []byte {
	data, err := FS.ReadFile("audit/audit-policy.yaml")
	if err != nil {
		// The file is embedded at build time.
		panic(err)
	}
	return data
}
