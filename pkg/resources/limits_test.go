package resources

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestLimits(t *testing.T) {
	l := Limits{}.With(Cpus, 4000).With(Mem, 8*gi)
	tests := []struct {
		name     string
		l        Limits
		used     Vector
		allows   bool
		exceeded Name
		headroom Vector
	}{
		{name: "unlimited", l: Limits{}, used: MustParse("cpus:1000;mem:1Pi"), allows: true,
			headroom: Vector{MilliCPUs: Unlimited, Mem: Unlimited, Disk: Unlimited, MilliGPUs: Unlimited}},
		{name: "within", l: l, used: MustParse("cpus:1;mem:1Gi;disk:1Ti"), allows: true,
			headroom: Vector{MilliCPUs: 3000, Mem: 7 * gi, Disk: Unlimited, MilliGPUs: Unlimited}},
		{name: "at the limit", l: l, used: MustParse("cpus:4;mem:8Gi"), allows: true,
			headroom: Vector{Disk: Unlimited, MilliGPUs: Unlimited}},
		{name: "mem over", l: l, used: MustParse("cpus:1;mem:9Gi"), exceeded: Mem,
			headroom: Vector{MilliCPUs: 3000, Disk: Unlimited, MilliGPUs: Unlimited}},
		{name: "zero limit", l: Limits{}.With(Gpus, 0), used: MustParse("gpus:1"), exceeded: Gpus,
			headroom: Vector{MilliCPUs: Unlimited, Mem: Unlimited, Disk: Unlimited}},
		{name: "all from a vector", l: LimitsFrom(MustParse("cpus:1")), used: MustParse("cpus:1;mem:1"), exceeded: Mem,
			headroom: Vector{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(tt.l.Allows(tt.used)).To(Equal(tt.allows))
			n, over := tt.l.Exceeded(tt.used)
			g.Expect(over).To(Equal(!tt.allows))
			if over {
				g.Expect(n).To(Equal(tt.exceeded))
			}
			g.Expect(tt.l.Headroom(tt.used)).To(Equal(tt.headroom))
		})
	}
}

func TestLimitsAccessors(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Limits{}.IsUnlimited()).To(BeTrue())
	l := Limits{}.With(Disk, -5)
	g.Expect(l.IsUnlimited()).To(BeFalse())
	x, ok := l.Get(Disk)
	g.Expect(ok).To(BeTrue())
	g.Expect(x).To(BeZero())
	_, ok = l.Get(Cpus)
	g.Expect(ok).To(BeFalse())
	_, ok = l.Get(Name(7))
	g.Expect(ok).To(BeFalse())
	g.Expect(l.With(Name(7), 1)).To(Equal(l))
}
