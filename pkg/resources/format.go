package resources

import (
	"strconv"
	"strings"
)

// binaryUnits are the suffixes FormatScalar tries for bytes, largest first.
var binaryUnits = []struct {
	suffix string
	size   int64
}{
	{"Ei", 1 << 60}, {"Pi", 1 << 50}, {"Ti", 1 << 40}, {"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10},
}

// FormatScalar writes an amount of a scalar resource as a Kubernetes quantity
// that reads back exactly: cpus and gpus as decimals ("0.5", "2", "0.001"), mem
// and disk with the largest binary suffix that represents the amount with at
// most three decimals ("64Mi", "1.5Gi"), or else in thousands of bytes
// ("1.023k"). A byte count is never written without a suffix, because Parse
// reads a plain number of mem or disk as MiB.
func FormatScalar(n Name, x int64) string {
	if n.Milli() {
		return thousandths(x/1000, x%1000, "")
	}
	return formatBytes(x)
}

func formatBytes(x int64) string {
	if x == 0 {
		return "0"
	}
	for _, u := range binaryUnits {
		if x < u.size {
			continue
		}
		// x%u.size < 2^60 and the product below fits for all but Ei; for Ei
		// only exact multiples are written with the suffix.
		rest := x % u.size
		if rest == 0 {
			return strconv.FormatInt(x/u.size, 10) + u.suffix
		}
		if u.size <= 1<<50 && (rest*1000)%u.size == 0 {
			return thousandths(x/u.size, rest*1000/u.size, u.suffix)
		}
	}
	return thousandths(x/1000, x%1000, "k")
}

// thousandths writes whole.frac (frac in 0..999) with trailing zeros removed.
func thousandths(whole, frac int64, suffix string) string {
	s := strconv.FormatInt(whole, 10)
	if frac != 0 {
		f := strconv.FormatInt(1000+frac, 10)[1:] // zero-padded to three digits
		s += "." + strings.TrimRight(f, "0")
	}
	return s + suffix
}

// String returns v for people: "cpus 0.5, mem 64Mi, ports [31000-31005]".
// Resources v does not hold are left out; an empty Vector is "nothing".
func (v Vector) String() string {
	var b strings.Builder
	vs := v.Scalars()
	for i, x := range vs {
		if x == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(Name(i).String())
		b.WriteByte(' ')
		b.WriteString(FormatScalar(Name(i), x))
	}
	if len(v.Ports) > 0 {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString("ports ")
		b.WriteString(v.Ports.String())
	}
	if b.Len() == 0 {
		return "nothing"
	}
	return b.String()
}

// Spec returns v in the syntax Parse reads, for flags and files:
// "cpus:0.5;mem:64Mi;ports:[31000-31005,31010]". Parse(v.Spec()) equals v.
func (v Vector) Spec() string {
	var items []string
	for i, x := range v.Scalars() {
		if x != 0 {
			items = append(items, Name(i).String()+":"+FormatScalar(Name(i), x))
		}
	}
	if len(v.Ports) > 0 {
		items = append(items, "ports:"+v.Ports.format(","))
	}
	return strings.Join(items, ";")
}
