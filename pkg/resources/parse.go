package resources

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// specForms is appended to parse errors so that a user sees every accepted form.
const specForms = `expected NAME:VALUE items separated by ";", where NAME is cpus, mem, disk, gpus or ports; ` +
	`cpus and gpus are numbers or quantities (2, 0.5, 500m), mem and disk a plain number of MiB ` +
	`or a quantity (4096, 4Gi), ports a list of ranges ([31000-32000,33000])`

// Parse reads resources written in Mesos syntax, "cpus:2;mem:4096;ports:[31000-32000]",
// or with Kubernetes quantities, "cpus:500m;mem:4Gi;disk:10Gi;gpus:1". As in
// Mesos, a plain number of mem or disk is MiB; write "4096e0" for bytes. Items
// may also be separated by "," and written NAME=VALUE. Each resource may be given
// once; the empty string is the zero Vector. Amounts finer than the Vector holds
// (a thousandth of a CPU or GPU, one byte) and amounts above MaxValue are
// refused; overlapping port ranges are merged.
func Parse(spec string) (Vector, error) {
	v, _, err := parse(spec, true)
	return v, err
}

// MustParse is Parse that panics on error, for constants and tests.
func MustParse(spec string) Vector {
	v, err := Parse(spec)
	if err != nil {
		panic(err)
	}
	return v
}

// ParseLimits reads bounds in the syntax of Parse, without ports: the resources
// named are bounded, the others unlimited. "cpus:4;mem:0" allows four CPUs and
// no memory.
func ParseLimits(spec string) (Limits, error) {
	v, named, err := parse(spec, false)
	if err != nil {
		return Limits{}, err
	}
	var l Limits
	for i, x := range v.Scalars() {
		if named&(1<<i) != 0 {
			l = l.With(Name(i), x)
		}
	}
	return l, nil
}

// parse returns the Vector, a bit per scalar Name that was given (bit
// NumScalars for ports), and the first error.
func parse(spec string, portsAllowed bool) (Vector, uint8, error) {
	var (
		s     [NumScalars]int64
		ports PortSet
		named uint8
	)
	const portsBit = 1 << NumScalars
	for _, item := range splitItems(spec) {
		key, value, ok := cutAny(item, ":=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" {
			return Vector{}, 0, fmt.Errorf("invalid resource %q: %s", item, specForms)
		}
		if key == "ports" {
			if !portsAllowed {
				return Vector{}, 0, fmt.Errorf("invalid resource %q: ports cannot be limited", item)
			}
			if named&portsBit != 0 {
				return Vector{}, 0, fmt.Errorf("invalid resource %q: ports given more than once", item)
			}
			named |= portsBit
			p, err := ParsePorts(value)
			if err != nil {
				return Vector{}, 0, fmt.Errorf("invalid resource %q: %w", item, err)
			}
			ports = p
			continue
		}
		n, ok := nameOf(key)
		if !ok {
			return Vector{}, 0, fmt.Errorf("invalid resource %q: unknown resource %q; %s", item, key, specForms)
		}
		if named&(1<<n) != 0 {
			return Vector{}, 0, fmt.Errorf("invalid resource %q: %s given more than once", item, key)
		}
		named |= 1 << n
		x, err := parseScalar(n, value)
		if err != nil {
			return Vector{}, 0, fmt.Errorf("invalid resource %q: %w", item, err)
		}
		s[n] = x
	}
	return FromScalars(s, ports), named, nil
}

// maxQuantityLength is the longest amount Parse reads.
const maxQuantityLength = 64

// parseScalar reads one amount: a quantity, or for mem and disk a plain number
// of MiB.
func parseScalar(n Name, value string) (int64, error) {
	if len(value) > maxQuantityLength {
		return 0, fmt.Errorf("%s: %.20q... is longer than %d characters", n, value, maxQuantityLength)
	}
	if hugeExponent(value) {
		return 0, fmt.Errorf("%s: %q has an exponent of more than two digits", n, value)
	}
	if !n.Milli() && isPlainNumber(value) {
		value += "Mi"
	}
	q, err := resource.ParseQuantity(value)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a quantity", n, value)
	}
	return quantityToScalar(n, q, value)
}

// hugeExponent reports whether s ends in a decimal exponent of more than two
// digits ("1e999999999"), which resource.ParseQuantity takes very long to read.
func hugeExponent(s string) bool {
	i := strings.LastIndexAny(s, "eE")
	if i < 0 {
		return false
	}
	exp := strings.TrimLeft(s[i+1:], "+-")
	return len(exp) > 2 && isPlainNumber(exp)
}

// isPlainNumber reports whether s is digits with at most one decimal point.
func isPlainNumber(s string) bool {
	digits, dots := 0, 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// quantityToScalar converts a quantity to the unit a Vector holds n in, and
// refuses negative, too fine and too large amounts. Errors show q as written,
// raw: printing a quantity with a huge exponent would take very long.
func quantityToScalar(n Name, q resource.Quantity, raw string) (int64, error) {
	if q.Sign() < 0 {
		return 0, fmt.Errorf("%s: %s must not be negative", n, raw)
	}
	// Screen with a cheap float first: exact comparisons of quantities with huge
	// exponents ("1e999999999") take minutes.
	unit := 1.0
	if n.Milli() {
		unit = 1000
	}
	switch f := q.AsApproximateFloat64() * unit; {
	case f > 2*float64(MaxValue):
		return 0, fmt.Errorf("%s: %s is more than the largest amount, %s", n, raw, FormatScalar(n, MaxValue))
	case q.Sign() > 0 && f < 0.5:
		return 0, fmt.Errorf("%s: %s is less than the smallest amount, %s", n, raw, FormatScalar(n, 1))
	}
	if n.Milli() {
		if q.Cmp(*resource.NewMilliQuantity(MaxValue, resource.DecimalSI)) > 0 {
			return 0, fmt.Errorf("%s: %s is more than the largest amount, %s", n, raw, FormatScalar(n, MaxValue))
		}
		m := q.MilliValue()
		if resource.NewMilliQuantity(m, resource.DecimalSI).Cmp(q) != 0 {
			return 0, fmt.Errorf("%s: %s must be a multiple of 0.001", n, raw)
		}
		return m, nil
	}
	if q.Cmp(*resource.NewQuantity(MaxValue, resource.BinarySI)) > 0 {
		return 0, fmt.Errorf("%s: %s is more than the largest amount, %s", n, raw, FormatScalar(n, MaxValue))
	}
	b := q.Value()
	if resource.NewQuantity(b, resource.BinarySI).Cmp(q) != 0 {
		return 0, fmt.Errorf("%s: %s must be a whole number of bytes", n, raw)
	}
	return b, nil
}

// ParsePorts reads port ranges, "[31000-32000,33000]"; the brackets are
// optional and ranges may be separated by "," or spaces. Ports are 1 to 65535.
// Overlapping ranges are merged.
func ParsePorts(s string) (PortSet, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") != strings.HasSuffix(s, "]") {
		return nil, fmt.Errorf("ports %q: unbalanced brackets", s)
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	var ranges []PortRange
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		r, err := parsePortRange(f)
		if err != nil {
			return nil, fmt.Errorf("ports %q: %w", s, err)
		}
		ranges = append(ranges, r)
	}
	return NewPortSet(ranges...), nil
}

func parsePortRange(s string) (PortRange, error) {
	b, e, isRange := strings.Cut(s, "-")
	begin, err := parsePort(b)
	if err != nil {
		return PortRange{}, err
	}
	end := begin
	if isRange {
		if end, err = parsePort(e); err != nil {
			return PortRange{}, err
		}
	}
	if end < begin {
		return PortRange{}, fmt.Errorf("range %q ends before it begins", s)
	}
	return PortRange{Begin: begin, End: end}, nil
}

var errBadPort = errors.New("a port is a number from 1 to 65535")

func parsePort(s string) (uint16, error) {
	p, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
	if err != nil || p == 0 {
		return 0, fmt.Errorf("%q: %w", s, errBadPort)
	}
	return uint16(p), nil
}

// splitItems splits at ";" and at "," outside brackets, dropping empty items.
func splitItems(spec string) []string {
	var items []string
	depth, start := 0, 0
	flush := func(end int) {
		if item := strings.TrimSpace(spec[start:end]); item != "" {
			items = append(items, item)
		}
		start = end + 1
	}
	for i := 0; i < len(spec); i++ {
		switch spec[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ';':
			flush(i)
		case ',':
			if depth <= 0 {
				flush(i)
			}
		}
	}
	flush(len(spec))
	return items
}

// cutAny cuts s at the first byte that is one of seps.
func cutAny(s, seps string) (before, after string, found bool) {
	if i := strings.IndexAny(s, seps); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}
