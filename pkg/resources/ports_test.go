package resources

import (
	"math/rand/v2"
	"testing"

	. "github.com/onsi/gomega"
)

func ps(ranges ...uint16) PortSet {
	var rs []PortRange
	for i := 0; i+1 < len(ranges); i += 2 {
		rs = append(rs, PortRange{ranges[i], ranges[i+1]})
	}
	return NewPortSet(rs...)
}

func TestNewPortSet(t *testing.T) {
	tests := []struct {
		name string
		in   []PortRange
		want PortSet
	}{
		{name: "empty", in: nil, want: nil},
		{name: "only inverted ranges", in: []PortRange{{5, 4}}, want: nil},
		{name: "one", in: []PortRange{{31000, 31005}}, want: PortSet{{31000, 31005}}},
		{name: "sorted", in: []PortRange{{20, 30}, {1, 2}}, want: PortSet{{1, 2}, {20, 30}}},
		{name: "overlapping merged", in: []PortRange{{1, 10}, {5, 20}}, want: PortSet{{1, 20}}},
		{name: "adjacent merged", in: []PortRange{{1, 10}, {11, 20}}, want: PortSet{{1, 20}}},
		{name: "contained", in: []PortRange{{1, 100}, {5, 6}, {7, 8}}, want: PortSet{{1, 100}}},
		{name: "max port", in: []PortRange{{65535, 65535}, {65534, 65534}}, want: PortSet{{65534, 65535}}},
		{name: "gap kept", in: []PortRange{{1, 10}, {12, 20}}, want: PortSet{{1, 10}, {12, 20}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := NewPortSet(tt.in...)
			g.Expect(got).To(Equal(tt.want))
			g.Expect(got.Normalized()).To(BeTrue())
		})
	}
}

func TestPortSetOperations(t *testing.T) {
	tests := []struct {
		name                 string
		a, b                 PortSet
		union, diff, inter   PortSet
		aContainsB, bContain bool
	}{
		{name: "both empty", aContainsB: true, bContain: true},
		{name: "empty b", a: ps(1, 5), union: ps(1, 5), diff: ps(1, 5), aContainsB: true},
		{name: "empty a", b: ps(1, 5), union: ps(1, 5), bContain: true},
		{name: "equal", a: ps(1, 5), b: ps(1, 5), union: ps(1, 5), inter: ps(1, 5), aContainsB: true, bContain: true},
		{name: "hole in the middle", a: ps(31000, 32000), b: ps(31000, 31000, 31500, 31600),
			union: ps(31000, 32000), diff: ps(31001, 31499, 31601, 32000), inter: ps(31000, 31000, 31500, 31600), aContainsB: true},
		{name: "disjoint", a: ps(1, 5), b: ps(10, 20), union: ps(1, 5, 10, 20), diff: ps(1, 5)},
		{name: "touching merge", a: ps(1, 5), b: ps(6, 9), union: ps(1, 9), diff: ps(1, 5)},
		{name: "overlap", a: ps(1, 10), b: ps(5, 15), union: ps(1, 15), diff: ps(1, 4), inter: ps(5, 10)},
		{name: "b spans a's gap", a: ps(1, 5, 10, 15), b: ps(3, 12), union: ps(1, 15), diff: ps(1, 2, 13, 15), inter: ps(3, 5, 10, 12)},
		{name: "b within a gap is not contained", a: ps(1, 5, 7, 10), b: ps(4, 8), union: ps(1, 10), diff: ps(1, 3, 9, 10), inter: ps(4, 5, 7, 8)},
		{name: "edges of the port space", a: ps(1, 65535), b: ps(1, 1, 65535, 65535), union: ps(1, 65535), diff: ps(2, 65534), inter: ps(1, 1, 65535, 65535), aContainsB: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(tt.a.Union(tt.b)).To(Equal(tt.union), "union")
			g.Expect(tt.b.Union(tt.a)).To(Equal(tt.union), "union commutes")
			g.Expect(tt.a.Difference(tt.b)).To(Equal(tt.diff), "difference")
			g.Expect(tt.a.Intersect(tt.b)).To(Equal(tt.inter), "intersection")
			g.Expect(tt.a.Contains(tt.b)).To(Equal(tt.aContainsB), "a contains b")
			g.Expect(tt.b.Contains(tt.a)).To(Equal(tt.bContain), "b contains a")
		})
	}
}

func TestPortSetHasCountString(t *testing.T) {
	g := NewWithT(t)
	p := ps(31000, 31005, 31010, 31010)
	g.Expect(p.Count()).To(Equal(7))
	g.Expect(p.String()).To(Equal("[31000-31005, 31010]"))
	g.Expect(PortSet(nil).String()).To(Equal("[]"))
	for port, want := range map[uint16]bool{30999: false, 31000: true, 31003: true, 31005: true, 31006: false, 31010: true, 31011: false, 1: false, 65535: false} {
		g.Expect(p.Has(port)).To(Equal(want), "port %d", port)
	}
	g.Expect(PortSet{{3, 1}}.Normalized()).To(BeFalse())
	g.Expect(PortSet{{1, 3}, {4, 5}}.Normalized()).To(BeFalse())
	g.Expect(PortSet{{4, 5}, {1, 2}}.Normalized()).To(BeFalse())
}

// portBits is a model of a PortSet restricted to ports below 128.
type portBits [2]uint64

func (b portBits) set(p uint16) portBits { b[p/64] |= 1 << (p % 64); return b }
func bitsOf(p PortSet) portBits {
	var b portBits
	for _, r := range p {
		for x := int(r.Begin); x <= int(r.End); x++ {
			b = b.set(uint16(x))
		}
	}
	return b
}

func randomPortSet(r *rand.Rand) PortSet {
	var rs []PortRange
	for range r.IntN(5) {
		b := uint16(r.IntN(128))
		rs = append(rs, PortRange{b, b + uint16(r.IntN(min(20, 128-int(b))))})
	}
	return NewPortSet(rs...)
}

// TestPortSetModel checks the set operations against bit sets over many random
// sets.
func TestPortSetModel(t *testing.T) {
	g := NewWithT(t)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		a, b := randomPortSet(r), randomPortSet(r)
		ab, bb := bitsOf(a), bitsOf(b)
		g.Expect(bitsOf(a.Union(b))).To(Equal(portBits{ab[0] | bb[0], ab[1] | bb[1]}), "case %d: %v | %v", i, a, b)
		g.Expect(bitsOf(a.Difference(b))).To(Equal(portBits{ab[0] &^ bb[0], ab[1] &^ bb[1]}), "case %d: %v - %v", i, a, b)
		g.Expect(bitsOf(a.Intersect(b))).To(Equal(portBits{ab[0] & bb[0], ab[1] & bb[1]}), "case %d: %v & %v", i, a, b)
		g.Expect(a.Contains(b)).To(Equal(ab[0]&bb[0] == bb[0] && ab[1]&bb[1] == bb[1]), "case %d: %v contains %v", i, a, b)
		for _, res := range []PortSet{a.Union(b), a.Difference(b), a.Intersect(b)} {
			g.Expect(res.Normalized()).To(BeTrue(), "case %d: %v", i, res)
		}
	}
}
