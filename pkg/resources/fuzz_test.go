package resources

import (
	"testing"
)

// FuzzParse checks that whatever Parse accepts is normalized, prints in a form
// that reads back to the same Vector, and obeys the arithmetic identities.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "cpus:2;mem:4096;disk:10000;ports:[31000-32000]", "cpus:500m;mem:4Gi;gpus:1",
		"cpus=0.5, mem=64Mi, ports=[31000,31002-31003]", "mem:1.5", "mem:4096e0", "ports:[1-65535]",
		"disk:1023e0", "cpus:0.001", "mem:8Pi",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		v, err := Parse(spec)
		if err != nil {
			return
		}
		for _, x := range v.Scalars() {
			if x < 0 || x > MaxValue {
				t.Fatalf("Parse(%q) = %v: scalar out of range", spec, v.Scalars())
			}
		}
		if !v.Ports.Normalized() {
			t.Fatalf("Parse(%q) ports %v not normalized", spec, v.Ports)
		}
		back, err := Parse(v.Spec())
		if err != nil || !back.Equal(v) {
			t.Fatalf("Parse(%q).Spec() = %q reads back as %v, %v", spec, v.Spec(), back, err)
		}
		if api, err := FromAPI(v.ToAPI()); err != nil || !api.Equal(v) {
			t.Fatalf("API round trip of %q: %v, %v", spec, api, err)
		}
		checkIdentities(t, v, MustParse("cpus:1;mem:64Mi;ports:[31000-31005]"))
	})
}

// FuzzArithmetic checks the identities of Add, Sub, Min, Contains and
// Shortfall on arbitrary non-negative vectors.
func FuzzArithmetic(f *testing.F) {
	f.Add(int64(1000), int64(1<<30), int64(0), int64(0), uint16(31000), uint16(31010),
		int64(500), int64(64<<20), int64(1), int64(1000), uint16(31005), uint16(31020))
	f.Fuzz(func(t *testing.T, c1, m1, d1, g1 int64, pb1, pe1 uint16, c2, m2, d2, g2 int64, pb2, pe2 uint16) {
		a := Vector{MilliCPUs: abs(c1), Mem: abs(m1), Disk: abs(d1), MilliGPUs: abs(g1), Ports: NewPortSet(PortRange{pb1, pe1}, PortRange{pe2, pb2})}
		b := Vector{MilliCPUs: abs(c2), Mem: abs(m2), Disk: abs(d2), MilliGPUs: abs(g2), Ports: NewPortSet(PortRange{pb2, pe2})}
		checkIdentities(t, a, b)
	})
}

func abs(x int64) int64 {
	if x < 0 {
		return -(x + 1)
	}
	return x
}

func checkIdentities(t *testing.T, a, b Vector) {
	t.Helper()
	sum, diff, low := a.Add(b), a.Sub(b), a.Min(b)
	for _, v := range []Vector{sum, diff, low} {
		for _, x := range v.Scalars() {
			if x < 0 {
				t.Fatalf("negative scalar in %v (a=%v b=%v)", v.Scalars(), a, b)
			}
		}
		if !v.Ports.Normalized() {
			t.Fatalf("ports not normalized: %v", v.Ports)
		}
	}
	switch {
	case !sum.Contains(a) || !sum.Contains(b):
		t.Fatalf("a+b does not contain a and b: a=%v b=%v", a, b)
	case !diff.Fits(a):
		t.Fatalf("a-b does not fit in a: a=%v b=%v", a, b)
	case !a.Contains(low) || !b.Contains(low):
		t.Fatalf("min(a,b) not within both: a=%v b=%v", a, b)
	case a.Contains(b) != a.Shortfall(b).IsZero():
		t.Fatalf("Contains and Shortfall disagree: a=%v b=%v", a, b)
	case !a.Add(a.Shortfall(b)).Contains(b):
		t.Fatalf("a plus its shortfall does not contain b: a=%v b=%v", a, b)
	case !a.Equal(a) || !a.Contains(a) || !a.Sub(a).IsZero():
		t.Fatalf("reflexivity fails for %v", a)
	}
	if a.Contains(b) {
		if back := a.Sub(b).Add(b); !back.Equal(a) {
			t.Fatalf("(a-b)+b = %v, want a = %v (b=%v)", back, a, b)
		}
	}
	if _, below := a.Below(a); below {
		t.Fatalf("%v below itself", a)
	}
	if s := a.DominantShare(sum); s < 0 || s > 1 {
		t.Fatalf("share of a in a+b = %v, want within [0, 1]", s)
	}
	_ = a.String()
}
