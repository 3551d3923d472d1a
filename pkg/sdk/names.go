package sdk

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxNameLength is the longest name TaskName returns, that of an object name.
const MaxNameLength = 253

// TaskName returns a deterministic task name made of parts joined by "-":
// TaskName("nightly", "3", "0") is "nightly-3-0". Upper case letters are
// lowered and characters a name may not hold become "-". A name that would be
// longer than MaxNameLength is cut and ends in a hash of the whole, so that
// distinct parts still give distinct names. The same parts always give the
// same name, so a framework that restarts, or reads a stale cache, meets
// AlreadyExists instead of launching a task twice.
func TaskName(parts ...string) string {
	clean := make([]string, len(parts))
	for i, p := range parts {
		clean[i] = sanitize(p)
	}
	name := strings.Trim(strings.Join(clean, "-"), "-.")
	if name == "" {
		name = "task"
	}
	if len(name) <= MaxNameLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	hash := hex.EncodeToString(sum[:])[:12]
	head := strings.TrimRight(name[:MaxNameLength-len(hash)-1], "-.")
	return head + "-" + hash
}

// sanitize lowers s and replaces what an object name may not hold with "-".
func sanitize(s string) string {
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, s)
}
