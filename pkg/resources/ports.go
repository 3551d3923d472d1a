package resources

import (
	"slices"
	"strconv"
	"strings"
)

// PortRange is an inclusive range of ports, Begin <= End.
type PortRange struct {
	// Begin is the first port of the range.
	Begin uint16
	// End is the last port of the range.
	End uint16
}

// Count returns the number of ports in the range, zero when End < Begin.
func (r PortRange) Count() int {
	if r.End < r.Begin {
		return 0
	}
	return int(r.End) - int(r.Begin) + 1
}

// String returns "31000-31005", or "31000" for a single port.
func (r PortRange) String() string {
	if r.Begin == r.End {
		return strconv.Itoa(int(r.Begin))
	}
	return strconv.Itoa(int(r.Begin)) + "-" + strconv.Itoa(int(r.End))
}

// PortSet is a set of ports held as ranges sorted by Begin that neither overlap
// nor touch (NewPortSet merges them). The nil PortSet is empty.
//
// PortSets are values: no method modifies its receiver or argument, and a result
// may share memory with an operand, so never modify a PortSet in place.
type PortSet []PortRange

// NewPortSet returns the set of all ports in the given ranges, which may be in
// any order and may overlap. Ranges with End < Begin are empty and ignored.
func NewPortSet(ranges ...PortRange) PortSet {
	if len(ranges) == 0 {
		return nil
	}
	rs := make([]PortRange, 0, len(ranges))
	for _, r := range ranges {
		if r.Begin <= r.End {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return nil
	}
	slices.SortFunc(rs, func(a, b PortRange) int { return int(a.Begin) - int(b.Begin) })
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if int(r.Begin) <= int(last.End)+1 {
			last.End = max(last.End, r.End)
			continue
		}
		out = append(out, r)
	}
	return PortSet(out)
}

// Normalized reports whether p is in the form NewPortSet returns: sorted,
// non-empty ranges that neither overlap nor touch.
func (p PortSet) Normalized() bool {
	for i, r := range p {
		if r.End < r.Begin {
			return false
		}
		if i > 0 && int(r.Begin) <= int(p[i-1].End)+1 {
			return false
		}
	}
	return true
}

// Count returns the number of ports in the set.
func (p PortSet) Count() int {
	n := 0
	for _, r := range p {
		n += r.Count()
	}
	return n
}

// IsEmpty reports whether the set holds no port.
func (p PortSet) IsEmpty() bool { return len(p) == 0 }

// Has reports whether the set holds the port.
func (p PortSet) Has(port uint16) bool {
	i, _ := slices.BinarySearchFunc(p, port, func(r PortRange, port uint16) int {
		switch {
		case r.End < port:
			return -1
		case r.Begin > port:
			return 1
		}
		return 0
	})
	return i < len(p) && p[i].Begin <= port && port <= p[i].End
}

// Contains reports whether every port of o is in p.
func (p PortSet) Contains(o PortSet) bool {
	i := 0
	for _, r := range o {
		for i < len(p) && p[i].End < r.Begin {
			i++
		}
		// p's ranges do not touch, so r must lie inside a single one of them.
		if i == len(p) || p[i].Begin > r.Begin || p[i].End < r.End {
			return false
		}
	}
	return true
}

// Equal reports whether p and o hold the same ports.
func (p PortSet) Equal(o PortSet) bool { return slices.Equal(p, o) }

// Union returns the ports in p or o.
func (p PortSet) Union(o PortSet) PortSet {
	switch {
	case len(o) == 0:
		return p
	case len(p) == 0:
		return o
	}
	all := make([]PortRange, 0, len(p)+len(o))
	all = append(append(all, p...), o...)
	return NewPortSet(all...)
}

// Difference returns the ports in p that are not in o.
func (p PortSet) Difference(o PortSet) PortSet {
	if len(p) == 0 || len(o) == 0 {
		return p
	}
	var out []PortRange
	j := 0
	for _, r := range p {
		begin := int(r.Begin)
		end := int(r.End)
		for j < len(o) && int(o[j].End) < begin {
			j++
		}
		k := j
		for ; k < len(o) && int(o[k].Begin) <= end; k++ {
			if int(o[k].Begin) > begin {
				out = append(out, PortRange{uint16(begin), o[k].Begin - 1})
			}
			begin = int(o[k].End) + 1
		}
		if begin <= end {
			out = append(out, PortRange{uint16(begin), uint16(end)})
		}
	}
	if len(out) == 0 {
		return nil
	}
	return PortSet(out)
}

// Intersect returns the ports in both p and o.
func (p PortSet) Intersect(o PortSet) PortSet {
	var out []PortRange
	i, j := 0, 0
	for i < len(p) && j < len(o) {
		begin := max(p[i].Begin, o[j].Begin)
		end := min(p[i].End, o[j].End)
		if begin <= end {
			out = append(out, PortRange{begin, end})
		}
		if p[i].End < o[j].End {
			i++
		} else {
			j++
		}
	}
	if len(out) == 0 {
		return nil
	}
	return PortSet(out)
}

// String returns the set as "[31000-31005, 31010]", "[]" when empty.
func (p PortSet) String() string { return p.format(", ") }

func (p PortSet) format(sep string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, r := range p {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(r.String())
	}
	b.WriteByte(']')
	return b.String()
}
