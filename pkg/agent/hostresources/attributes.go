package hostresources

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Limits of attributes, the same as the API's for Node attributes.
const (
	// MaxAttributes is the largest number of attributes.
	MaxAttributes = 64
	// MaxAttributeKeyLength is the longest attribute key.
	MaxAttributeKeyLength = 63
	// MaxAttributeValueLength is the longest attribute value.
	MaxAttributeValueLength = 256
)

// labelish is what keys and values look like: letters and digits, with "-", "_",
// "." and "/" inside.
var labelish = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$`)

const attributeForms = `attributes are KEY:VALUE items separated by ";" (e.g. "rack:r1;zone:a"); ` +
	`keys (at most 63 characters) and values (at most 256) are letters, digits, "-", "_", "." and "/", ` +
	`beginning and ending with a letter or digit`

// ParseAttributes parses "rack:r1;zone:a" into a map. An empty string yields an
// empty, non-nil map. Keys must be unique.
func ParseAttributes(spec string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range splitItems(spec) {
		key, value, ok := strings.Cut(item, ":")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case !ok:
			return nil, fmt.Errorf("invalid attribute %q: expected KEY:VALUE; %s", item, attributeForms)
		case len(key) > MaxAttributeKeyLength || !labelish.MatchString(key):
			return nil, fmt.Errorf("invalid attribute %q: bad key %q; %s", item, key, attributeForms)
		case len(value) > MaxAttributeValueLength || !labelish.MatchString(value):
			return nil, fmt.Errorf("invalid attribute %q: bad value %q; %s", item, value, attributeForms)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("invalid attribute %q: key %q is given more than once; %s", item, key, attributeForms)
		}
		out[key] = value
	}
	if len(out) > MaxAttributes {
		return nil, fmt.Errorf("%d attributes are more than the %d allowed", len(out), MaxAttributes)
	}
	return out, nil
}

// FormatAttributes writes attributes sorted by key, in the form ParseAttributes reads.
func FormatAttributes(attrs map[string]string) string {
	keys := slices.Sorted(maps.Keys(attrs))
	items := make([]string, len(keys))
	for i, k := range keys {
		items[i] = k + ":" + attrs[k]
	}
	return strings.Join(items, ";")
}
