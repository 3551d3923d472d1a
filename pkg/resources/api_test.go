package resources

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"

	"meseta.dev/meseta/apis/v1alpha1"
)

func q(s string) *resource.Quantity {
	x := resource.MustParse(s)
	return &x
}

func TestFromAPI(t *testing.T) {
	tests := []struct {
		name    string
		in      v1alpha1.Resources
		want    Vector
		wantErr string
	}{
		{name: "empty", in: v1alpha1.Resources{}, want: Vector{}},
		{
			name: "all",
			in: v1alpha1.Resources{Cpus: q("1.5"), Mem: q("3Gi"), Disk: q("10G"), Gpus: q("2"),
				Ports: []v1alpha1.PortRange{{Begin: 31005, End: 31010}, {Begin: 31000, End: 31000}}},
			want: Vector{MilliCPUs: 1500, Mem: 3 * gi, Disk: 10_000_000_000, MilliGPUs: 2000, Ports: ps(31000, 31000, 31005, 31010)},
		},
		{name: "milli cpus", in: v1alpha1.Resources{Cpus: q("250m")}, want: Vector{MilliCPUs: 250}},
		{name: "overlapping ports merged", in: v1alpha1.Resources{Ports: []v1alpha1.PortRange{{Begin: 1, End: 10}, {Begin: 5, End: 6}}}, want: Vector{Ports: ps(1, 10)}},
		{name: "negative", in: v1alpha1.Resources{Mem: q("-1")}, wantErr: "mem: -1 must not be negative"},
		{name: "too fine", in: v1alpha1.Resources{Cpus: q("1n")}, wantErr: "cpus: 1n is less than the smallest amount"},
		{name: "fractional byte", in: v1alpha1.Resources{Disk: q("1500m")}, wantErr: "disk: 1500m must be a whole number of bytes"},
		{name: "huge", in: v1alpha1.Resources{Gpus: q("1E")}, wantErr: "gpus: 1E is more than the largest amount"},
		{name: "port zero", in: v1alpha1.Resources{Ports: []v1alpha1.PortRange{{Begin: 0, End: 1}}}, wantErr: "ports[0].begin: 0"},
		{name: "port too big", in: v1alpha1.Resources{Ports: []v1alpha1.PortRange{{Begin: 1, End: 70000}}}, wantErr: "ports[0].end: 70000"},
		{name: "inverted", in: v1alpha1.Resources{Ports: []v1alpha1.PortRange{{Begin: 1, End: 2}, {Begin: 9, End: 8}}}, wantErr: "ports[1].end: 8 must be at least begin (9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := FromAPI(tt.in)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
			back, err := FromAPI(got.ToAPI())
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(back).To(Equal(got), "round trip")
		})
	}
}

func TestToAPI(t *testing.T) {
	g := NewWithT(t)
	r := MustParse("cpus:0.5;mem:64Mi;gpus:1;ports:[31000-31005]").ToAPI()
	g.Expect(r.Cpus.String()).To(Equal("500m"))
	g.Expect(r.Mem.String()).To(Equal("64Mi"))
	g.Expect(r.Disk).To(BeNil())
	g.Expect(r.Gpus.String()).To(Equal("1"))
	g.Expect(r.Ports).To(Equal([]v1alpha1.PortRange{{Begin: 31000, End: 31005}}))
	g.Expect(Vector{}.ToAPI()).To(Equal(v1alpha1.Resources{}))
}

func TestLimitsAPI(t *testing.T) {
	tests := []struct {
		name    string
		in      *v1alpha1.Resources
		want    Limits
		wantErr string
	}{
		{name: "nil is unlimited", in: nil, want: Limits{}},
		{name: "empty is unlimited", in: &v1alpha1.Resources{}, want: Limits{}},
		{name: "cpus and zero mem", in: &v1alpha1.Resources{Cpus: q("4"), Mem: q("0")}, want: Limits{}.With(Cpus, 4000).With(Mem, 0)},
		{name: "ports refused", in: &v1alpha1.Resources{Ports: []v1alpha1.PortRange{{Begin: 1, End: 1}}}, wantErr: "ports: cannot be limited"},
		{name: "bad quantity", in: &v1alpha1.Resources{Cpus: q("-4")}, wantErr: "cpus: -4 must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := LimitsFromAPI(tt.in)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
			back, err := LimitsFromAPI(got.ToAPI())
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(back).To(Equal(got))
		})
	}
}
