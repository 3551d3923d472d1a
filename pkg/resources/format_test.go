package resources

import (
	"math"
	"testing"

	. "github.com/onsi/gomega"
)

func TestFormatScalar(t *testing.T) {
	tests := []struct {
		name Name
		x    int64
		want string
	}{
		{Cpus, 0, "0"},
		{Cpus, 500, "0.5"},
		{Cpus, 10, "0.01"},
		{Cpus, 1, "0.001"},
		{Cpus, 2000, "2"},
		{Cpus, 1250, "1.25"},
		{Gpus, 1000, "1"},
		{Mem, 0, "0"},
		{Mem, 64 * mi, "64Mi"},
		{Mem, 4 * gi, "4Gi"},
		{Mem, gi + gi/2, "1.5Gi"},
		{Mem, 10*mi + mi/4, "10.25Mi"},
		{Mem, 1024, "1Ki"},
		{Mem, 1536, "1.5Ki"},
		{Mem, 1023, "1.023k"},
		{Mem, 5, "0.005k"},
		{Mem, 32*mi - 1, "33554.431k"},
		{Disk, 1 << 40, "1Ti"},
		{Disk, 1 << 60, "1Ei"},
		{Disk, 1<<60 + 1<<59, "1536Pi"},
		{Disk, math.MaxInt64, "9223372036854775.807k"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			g := NewWithT(t)
			got := FormatScalar(tt.name, tt.x)
			g.Expect(got).To(Equal(tt.want))
			if tt.x <= MaxValue {
				back, err := parseScalar(tt.name, got)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(back).To(Equal(tt.x), "reads back")
			}
		})
	}
}

func TestVectorString(t *testing.T) {
	tests := []struct {
		v         Vector
		str, spec string
	}{
		{Vector{}, "nothing", ""},
		{MustParse("cpus:0.5;mem:64Mi;ports:[31000-31005]"), "cpus 0.5, mem 64Mi, ports [31000-31005]", "cpus:0.5;mem:64Mi;ports:[31000-31005]"},
		{MustParse("gpus:2;disk:1Gi"), "disk 1Gi, gpus 2", "disk:1Gi;gpus:2"},
		{MustParse("ports:[1,3-4]"), "ports [1, 3-4]", "ports:[1,3-4]"},
	}
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(tt.v.String()).To(Equal(tt.str))
			g.Expect(tt.v.Spec()).To(Equal(tt.spec))
			g.Expect(MustParse(tt.v.Spec())).To(Equal(tt.v))
		})
	}
}
