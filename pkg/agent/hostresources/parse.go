package hostresources

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Resource names understood by ParseResources.
const (
	// NameCPUs is the number of CPUs, fractions allowed.
	NameCPUs = "cpus"
	// NameMem is memory: a plain number of MB, or a quantity of bytes.
	NameMem = "mem"
	// NameDisk is scratch disk: a plain number of MB, or a quantity of bytes.
	NameDisk = "disk"
	// NameGPUs is a whole number of GPUs.
	NameGPUs = "gpus"
	// NamePorts is a list of port ranges, "[31000-32000,33000]".
	NamePorts = "ports"
)

// Limits of the parser: larger values are refused rather than overflowing.
const (
	// MaxCPUs is the largest number of CPUs accepted.
	MaxCPUs = 1 << 20
	// MaxBytes is the largest amount of memory or disk accepted (1 EiB).
	MaxBytes = int64(1) << 60
	// MaxGPUs is the largest number of GPUs accepted.
	MaxGPUs = 1 << 16
	// MaxPortRanges is the largest number of port ranges, after merging adjacent
	// ranges; it matches the API's limit.
	MaxPortRanges = 64
)

// allowedForms is appended to errors so that a user sees every accepted form.
const allowedForms = `allowed items are cpus:N (e.g. 2, 0.5, 500m), mem:MB or mem:QUANTITY ` +
	`(e.g. 4096 or 4Gi), disk:MB or disk:QUANTITY, gpus:N (a whole number) and ` +
	`ports:[BEGIN-END,...] (e.g. [31000-32000,33000]), separated by ";"`

// mib is the number of bytes in the Mesos "MB" unit.
const mib = 1 << 20

var plainNumber = regexp.MustCompile(`^([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

// ParseResources parses a resource list in Mesos syntax
// ("cpus:2;mem:4096;disk:10000;ports:[31000-32000]", mem and disk in MB) or with
// Kubernetes quantities ("cpus:500m;mem:4Gi"). Resources that are not named stay
// nil. An empty string yields empty Resources. A role written Mesos-style as
// "cpus(*):2" is accepted for the default role "*" only.
//
// The error names the bad item and lists the allowed forms.
func ParseResources(spec string) (v1alpha1.Resources, error) {
	var out v1alpha1.Resources
	seen := map[string]bool{}
	for _, item := range splitItems(spec) {
		name, value, ok := strings.Cut(item, ":")
		if !ok {
			return v1alpha1.Resources{}, fmt.Errorf("invalid resource %q: expected NAME:VALUE; %s", item, allowedForms)
		}
		name, err := resourceName(strings.TrimSpace(name))
		if err != nil {
			return v1alpha1.Resources{}, fmt.Errorf("invalid resource %q: %w; %s", item, err, allowedForms)
		}
		if seen[name] {
			return v1alpha1.Resources{}, fmt.Errorf("invalid resource %q: %s is given more than once", item, name)
		}
		seen[name] = true
		if err := setResource(&out, name, strings.TrimSpace(value)); err != nil {
			return v1alpha1.Resources{}, fmt.Errorf("invalid resource %q: %w; %s", item, err, allowedForms)
		}
	}
	return out, nil
}

// splitItems splits a ";"-separated list, trimming space and dropping empty items
// (so a trailing ";" is fine).
func splitItems(spec string) []string {
	var items []string
	for item := range strings.SplitSeq(spec, ";") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}

// resourceName checks a resource name, stripping a Mesos role "(*)".
func resourceName(name string) (string, error) {
	if base, role, ok := strings.Cut(name, "("); ok {
		if role != "*)" {
			return "", fmt.Errorf("role reservations such as %q are not supported; use no role or \"(*)\"", name)
		}
		name = base
	}
	switch name {
	case NameCPUs, NameMem, NameDisk, NameGPUs, NamePorts:
		return name, nil
	case "":
		return "", errors.New("the resource name is empty")
	}
	return "", fmt.Errorf("unknown resource name %q", name)
}

func setResource(out *v1alpha1.Resources, name, value string) error {
	if value == "" {
		return errors.New("the value is empty")
	}
	var err error
	switch name {
	case NameCPUs:
		out.Cpus, err = parseCPUs(value)
	case NameMem:
		out.Mem, err = parseBytes(value)
	case NameDisk:
		out.Disk, err = parseBytes(value)
	case NameGPUs:
		out.Gpus, err = parseGPUs(value)
	case NamePorts:
		out.Ports, err = ParsePortRanges(value)
	}
	return err
}

// parseQuantity parses a non-negative quantity as an exact rational number.
func parseQuantity(value string) (*big.Rat, error) {
	q, err := resource.ParseQuantity(value)
	if err != nil {
		return nil, fmt.Errorf("%q is not a number or quantity", value)
	}
	if q.Sign() < 0 {
		return nil, fmt.Errorf("%q is negative", value)
	}
	r, ok := new(big.Rat).SetString(q.AsDec().String())
	if !ok {
		return nil, fmt.Errorf("%q is not a number or quantity", value)
	}
	return r, nil
}

// ceilInt rounds a non-negative rational up to an integer, or reports false when
// the result exceeds limit.
func ceilInt(r *big.Rat, limit int64) (int64, bool) {
	q, m := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if m.Sign() > 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() || q.Int64() > limit {
		return 0, false
	}
	return q.Int64(), true
}

func parseCPUs(value string) (*resource.Quantity, error) {
	r, err := parseQuantity(value)
	if err != nil {
		return nil, err
	}
	milli, ok := ceilInt(r.Mul(r, big.NewRat(1000, 1)), MaxCPUs*1000)
	if !ok {
		return nil, fmt.Errorf("%q is more than %d cpus", value, MaxCPUs)
	}
	return resource.NewMilliQuantity(milli, resource.DecimalSI), nil
}

func parseBytes(value string) (*resource.Quantity, error) {
	r, err := parseQuantity(value)
	if err != nil {
		return nil, err
	}
	if plainNumber.MatchString(value) {
		r.Mul(r, big.NewRat(mib, 1))
	}
	n, ok := ceilInt(r, MaxBytes)
	if !ok {
		return nil, fmt.Errorf("%q is more than %d bytes", value, MaxBytes)
	}
	return resource.NewQuantity(n, resource.BinarySI), nil
}

func parseGPUs(value string) (*resource.Quantity, error) {
	r, err := parseQuantity(value)
	if err != nil {
		return nil, err
	}
	if !r.IsInt() {
		return nil, fmt.Errorf("%q is not a whole number of gpus", value)
	}
	n, ok := ceilInt(r, MaxGPUs)
	if !ok {
		return nil, fmt.Errorf("%q is more than %d gpus", value, MaxGPUs)
	}
	return resource.NewQuantity(n, resource.DecimalSI), nil
}

// ParsePortRanges parses "[31000-32000,33000-33010]" (brackets optional, a single
// port allowed). Ranges must lie within 1-65535 and must not overlap; adjacent
// ranges are merged and the result is sorted.
func ParsePortRanges(value string) ([]v1alpha1.PortRange, error) {
	inner := strings.TrimSpace(value)
	if strings.HasPrefix(inner, "[") != strings.HasSuffix(inner, "]") {
		return nil, fmt.Errorf("%q has unbalanced brackets", value)
	}
	inner = strings.TrimSuffix(strings.TrimPrefix(inner, "["), "]")
	var ranges []v1alpha1.PortRange
	for part := range strings.SplitSeq(inner, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("%q has an empty port range", value)
		}
		pr, err := parsePortRange(part)
		if err != nil {
			return nil, err
		}
		ranges = append(ranges, pr)
	}
	return normalizePorts(ranges)
}

func parsePortRange(part string) (v1alpha1.PortRange, error) {
	b, e, isRange := strings.Cut(part, "-")
	if !isRange {
		e = b
	}
	begin, err1 := parsePort(b)
	end, err2 := parsePort(e)
	if err := errors.Join(err1, err2); err != nil {
		return v1alpha1.PortRange{}, fmt.Errorf("port range %q: %w", part, err)
	}
	if end < begin {
		return v1alpha1.PortRange{}, fmt.Errorf("port range %q ends before it begins", part)
	}
	return v1alpha1.PortRange{Begin: begin, End: end}, nil
}

func parsePort(s string) (int32, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a port number between 1 and 65535", s)
	}
	return int32(n), nil
}

// normalizePorts sorts ranges, refuses overlaps and merges adjacent ranges.
func normalizePorts(ranges []v1alpha1.PortRange) ([]v1alpha1.PortRange, error) {
	sorted := slices.Clone(ranges)
	slices.SortFunc(sorted, func(a, b v1alpha1.PortRange) int { return int(a.Begin - b.Begin) })
	var out []v1alpha1.PortRange
	for _, r := range sorted {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if r.Begin <= last.End {
				return nil, fmt.Errorf("port ranges %d-%d and %d-%d overlap", last.Begin, last.End, r.Begin, r.End)
			}
			if r.Begin == last.End+1 {
				last.End = r.End
				continue
			}
		}
		out = append(out, r)
	}
	if len(out) > MaxPortRanges {
		return nil, fmt.Errorf("%d port ranges are more than the %d allowed", len(out), MaxPortRanges)
	}
	return out, nil
}
