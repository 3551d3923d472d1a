package resources

import (
	"math"
	"testing"

	. "github.com/onsi/gomega"
)

const (
	mi = int64(1) << 20
	gi = int64(1) << 30
)

func TestVectorAddSub(t *testing.T) {
	tests := []struct {
		name     string
		a, b     Vector
		sum, sub Vector
	}{
		{name: "zero", sum: Vector{}, sub: Vector{}},
		{
			name: "scalars",
			a:    Vector{MilliCPUs: 2000, Mem: 4 * gi, Disk: 10 * gi, MilliGPUs: 1000},
			b:    Vector{MilliCPUs: 500, Mem: 64 * mi},
			sum:  Vector{MilliCPUs: 2500, Mem: 4*gi + 64*mi, Disk: 10 * gi, MilliGPUs: 1000},
			sub:  Vector{MilliCPUs: 1500, Mem: 4*gi - 64*mi, Disk: 10 * gi, MilliGPUs: 1000},
		},
		{
			name: "sub clamps at zero",
			a:    Vector{MilliCPUs: 100, Mem: mi},
			b:    Vector{MilliCPUs: 500, Mem: mi, Disk: 1},
			sum:  Vector{MilliCPUs: 600, Mem: 2 * mi, Disk: 1},
			sub:  Vector{},
		},
		{
			name: "ports",
			a:    Vector{Ports: ps(31000, 31010)},
			b:    Vector{Ports: ps(31005, 31005, 31020, 31020)},
			sum:  Vector{Ports: ps(31000, 31010, 31020, 31020)},
			sub:  Vector{Ports: ps(31000, 31004, 31006, 31010)},
		},
		{
			name: "add saturates",
			a:    Vector{Mem: math.MaxInt64 - 1},
			b:    Vector{Mem: 10},
			sum:  Vector{Mem: math.MaxInt64},
			sub:  Vector{Mem: math.MaxInt64 - 11},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(tt.a.Add(tt.b)).To(Equal(tt.sum))
			g.Expect(tt.a.Sub(tt.b)).To(Equal(tt.sub))
			g.Expect(tt.a.Add(tt.b).Contains(tt.a)).To(BeTrue())
			g.Expect(tt.a.Sub(tt.b).Fits(tt.a)).To(BeTrue())
		})
	}
}

func TestVectorContainsShortfall(t *testing.T) {
	free := MustParse("cpus:2;mem:1Gi;ports:[31000-31010]")
	tests := []struct {
		name      string
		want      Vector
		contained bool
		shortfall string
	}{
		{name: "nothing", want: Vector{}, contained: true, shortfall: "nothing"},
		{name: "exactly all", want: free, contained: true, shortfall: "nothing"},
		{name: "task fits", want: MustParse("cpus:0.5;mem:64Mi;ports:[31000]"), contained: true, shortfall: "nothing"},
		{name: "too many cpus", want: MustParse("cpus:2.5;mem:64Mi"), shortfall: "cpus 0.5"},
		{name: "disk it lacks", want: MustParse("cpus:1;disk:1Gi"), shortfall: "disk 1Gi"},
		{name: "port outside", want: MustParse("cpus:1;ports:[31010-31012]"), shortfall: "ports [31011-31012]"},
		{name: "all short", want: MustParse("cpus:3;mem:2Gi;gpus:1;ports:[80]"), shortfall: "cpus 1, mem 1Gi, gpus 1, ports [80]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(free.Contains(tt.want)).To(Equal(tt.contained))
			g.Expect(tt.want.Fits(free)).To(Equal(tt.contained))
			short := free.Shortfall(tt.want)
			g.Expect(short.IsZero()).To(Equal(tt.contained))
			g.Expect(short.String()).To(Equal(tt.shortfall))
		})
	}
}

func TestVectorBelow(t *testing.T) {
	tests := []struct {
		name    string
		v, min  Vector
		below   bool
		message string
	}{
		{name: "default minimum met", v: MustParse("cpus:0.01;mem:32Mi"), min: DefaultMinAllocatable},
		{name: "mem short", v: MustParse("cpus:4;mem:10Mi"), min: DefaultMinAllocatable, below: true, message: "mem 10Mi < 32Mi"},
		{name: "cpus short first", v: MustParse("mem:10Mi"), min: DefaultMinAllocatable, below: true, message: "cpus 0 < 0.01"},
		{name: "unnamed resources are free", v: MustParse("cpus:1;mem:1Gi"), min: MustParse("cpus:1")},
		{name: "gpus", v: MustParse("cpus:1"), min: MustParse("gpus:1"), below: true, message: "gpus 0 < 1"},
		{name: "ports ignored", v: MustParse("cpus:1"), min: MustParse("ports:[80]")},
		{name: "zero minimum", v: Vector{}, min: Vector{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			d, below := tt.v.Below(tt.min)
			g.Expect(below).To(Equal(tt.below))
			if below {
				g.Expect(d.String()).To(Equal(tt.message))
			}
		})
	}
}

func TestVectorDominant(t *testing.T) {
	total := MustParse("cpus:100;mem:1000Gi;disk:10Ti")
	tests := []struct {
		name  string
		v     Vector
		res   Name
		share float64
	}{
		{name: "nothing", v: Vector{}, res: Cpus, share: 0},
		{name: "cpu heavy", v: MustParse("cpus:10;mem:10Gi"), res: Cpus, share: 0.1},
		{name: "mem heavy", v: MustParse("cpus:1;mem:500Gi"), res: Mem, share: 0.5},
		{name: "tie goes to first", v: MustParse("cpus:10;mem:100Gi"), res: Cpus, share: 0.1},
		{name: "gpus without total ignored", v: MustParse("cpus:1;gpus:4"), res: Cpus, share: 0.01},
		{name: "ports never count", v: MustParse("ports:[1-65535]"), res: Cpus, share: 0},
		{name: "over the total", v: MustParse("disk:20Ti"), res: Disk, share: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			res, share := tt.v.Dominant(total)
			g.Expect(res).To(Equal(tt.res))
			g.Expect(share).To(BeNumerically("~", tt.share, 1e-12))
			g.Expect(tt.v.DominantShare(total)).To(Equal(share))
		})
	}
}

func TestVectorAccessors(t *testing.T) {
	g := NewWithT(t)
	v := Vector{MilliCPUs: 1, Mem: 2, Disk: 3, MilliGPUs: 4, Ports: ps(5, 6)}
	g.Expect(v.Scalars()).To(Equal([NumScalars]int64{1, 2, 3, 4}))
	g.Expect(FromScalars(v.Scalars(), v.Ports)).To(Equal(v))
	for i, n := range Names {
		g.Expect(v.Get(n)).To(Equal(int64(i + 1)))
		g.Expect(v.With(n, 9).Get(n)).To(Equal(int64(9)))
	}
	g.Expect(v.Get(Name(9))).To(BeZero())
	g.Expect(v.With(Name(9), 7)).To(Equal(v))
	g.Expect(v.Equal(v)).To(BeTrue())
	g.Expect(v.Equal(v.With(Disk, 0))).To(BeFalse())
	g.Expect(v.IsZero()).To(BeFalse())
	g.Expect(Vector{}.IsZero()).To(BeTrue())
	g.Expect(Vector{Ports: ps(1, 1)}.IsZero()).To(BeFalse())
	g.Expect(v.Min(Vector{MilliCPUs: 9, Mem: 1, Ports: ps(6, 9)})).To(Equal(Vector{MilliCPUs: 1, Mem: 1, Ports: ps(6, 6)}))
	g.Expect(Name(9).String()).To(Equal("unknown"))
	g.Expect(Cpus.Milli()).To(BeTrue())
	g.Expect(Mem.Milli()).To(BeFalse())
}
