package security

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"meseta.dev/meseta/config/policy"
)

// WriteAuditPolicy writes Meseta's default audit policy to path unless a file is
// there already, so an operator's edits survive restarts. It returns path.
func WriteAuditPolicy(path string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return path, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, policy.AuditPolicy(), 0o600); err != nil {
		return "", fmt.Errorf("failed to write the audit policy %s: %w", path, err)
	}
	return path, os.Rename(tmp, path)
}
