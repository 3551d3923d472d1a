package hostresources

import (
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"

	"meseta.dev/meseta/apis/v1alpha1"
)

func q(s string) *resource.Quantity {
	v := resource.MustParse(s)
	return &v
}

func TestParseResources(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		want    v1alpha1.Resources
		wantErr string
	}{
		{name: "empty", spec: "", want: v1alpha1.Resources{}},
		{
			name: "mesos syntax, MB",
			spec: "cpus:2;mem:4096;disk:10000;ports:[31000-32000,33000-33010]",
			want: v1alpha1.Resources{
				Cpus: q("2"), Mem: q("4Gi"), Disk: q("10000Mi"),
				Ports: []v1alpha1.PortRange{{Begin: 31000, End: 32000}, {Begin: 33000, End: 33010}},
			},
		},
		{name: "kubernetes quantities", spec: "cpus:500m;mem:4Gi;disk:1G", want: v1alpha1.Resources{Cpus: q("500m"), Mem: q("4Gi"), Disk: q("1G")}},
		{name: "fractional cpus and MB", spec: "cpus:0.25;mem:1.5", want: v1alpha1.Resources{Cpus: q("250m"), Mem: q("1536Ki")}},
		{name: "spaces and trailing separator", spec: " cpus : 1 ; mem: 64Mi ;", want: v1alpha1.Resources{Cpus: q("1"), Mem: q("64Mi")}},
		{name: "default role", spec: "cpus(*):3", want: v1alpha1.Resources{Cpus: q("3")}},
		{name: "gpus", spec: "gpus:2", want: v1alpha1.Resources{Gpus: q("2")}},
		{name: "cpus rounded up to millicores", spec: "cpus:0.0001", want: v1alpha1.Resources{Cpus: q("1m")}},
		{name: "exponent means bytes", spec: "mem:1e3", want: v1alpha1.Resources{Mem: q("1000")}},
		{
			name: "ports sorted and merged, single port",
			spec: "ports:[33000,31000-31999,32000-32000]",
			want: v1alpha1.Resources{Ports: []v1alpha1.PortRange{{Begin: 31000, End: 32000}, {Begin: 33000, End: 33000}}},
		},
		{name: "unknown resource", spec: "cpus:1;bogus:3", wantErr: `invalid resource "bogus:3": unknown resource name "bogus"`},
		{name: "missing colon", spec: "cpus=2", wantErr: `invalid resource "cpus=2": expected NAME:VALUE`},
		{name: "negative", spec: "mem:-5", wantErr: `"-5" is negative`},
		{name: "not a number", spec: "cpus:lots", wantErr: `invalid resource "cpus:lots": "lots" is not a number or quantity`},
		{name: "duplicate", spec: "cpus:1;cpus:2", wantErr: "cpus is given more than once"},
		{name: "role", spec: "cpus(web):1", wantErr: "role reservations"},
		{name: "fractional gpus", spec: "gpus:0.5", wantErr: "not a whole number of gpus"},
		{name: "port out of range", spec: "ports:[0-10]", wantErr: `"0" is not a port number between 1 and 65535`},
		{name: "port range reversed", spec: "ports:[20-10]", wantErr: "ends before it begins"},
		{name: "ports overlap", spec: "ports:[10-20,15-30]", wantErr: "port ranges 10-20 and 15-30 overlap"},
		{name: "unbalanced bracket", spec: "ports:[10-20", wantErr: "unbalanced brackets"},
		{name: "empty value", spec: "mem:", wantErr: "the value is empty"},
		{name: "too large", spec: "mem:99999999999999999", wantErr: "is more than"},
		{name: "errors list the allowed forms", spec: "x:1", wantErr: "allowed items are cpus:N"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ParseResources(tt.spec)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(equalResources(got, tt.want)).To(BeTrue(), "got %s, want %s", FormatResources(got), FormatResources(tt.want))
		})
	}
}

func TestFormatResources(t *testing.T) {
	tests := []struct {
		name string
		in   v1alpha1.Resources
		want string
	}{
		{name: "empty", in: v1alpha1.Resources{}, want: ""},
		{name: "all", in: v1alpha1.Resources{
			Cpus: q("1500m"), Mem: q("1001"), Disk: q("1000"), Gpus: q("1"),
			Ports: []v1alpha1.PortRange{{Begin: 80, End: 80}, {Begin: 31000, End: 32000}},
		}, want: "cpus:1500m;mem:1001e0;disk:1k;gpus:1;ports:[80-80,31000-32000]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(FormatResources(tt.in)).To(Equal(tt.want))
			back, err := ParseResources(tt.want)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(equalResources(back, tt.in)).To(BeTrue())
		})
	}
}

// equalResources compares resources by value (quantities by Cmp).
func equalResources(a, b v1alpha1.Resources) bool {
	eq := func(x, y *resource.Quantity) bool {
		if x == nil || y == nil {
			return x == nil && y == nil
		}
		return x.Cmp(*y) == 0
	}
	if !eq(a.Cpus, b.Cpus) || !eq(a.Mem, b.Mem) || !eq(a.Disk, b.Disk) || !eq(a.Gpus, b.Gpus) || len(a.Ports) != len(b.Ports) {
		return false
	}
	for i := range a.Ports {
		if a.Ports[i] != b.Ports[i] {
			return false
		}
	}
	return true
}

func FuzzParseResources(f *testing.F) {
	for _, seed := range []string{
		"cpus:2;mem:4096;disk:10000;ports:[31000-32000,33000-33010]",
		"cpus:500m;mem:4Gi", "gpus:1;mem:1.5", "ports:[1-65535]", "mem:1e3;disk:0.5Ki",
		"cpus(*):1;", "cpus:-1", "ports:[", "mem:99999999999999999999", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		r, err := ParseResources(spec)
		if err != nil {
			return
		}
		text := FormatResources(r)
		back, err := ParseResources(text)
		if err != nil {
			t.Fatalf("ParseResources(FormatResources(%q)) = %q failed: %v", spec, text, err)
		}
		if !equalResources(r, back) {
			t.Fatalf("round trip of %q changed the value: %q then %q", spec, text, FormatResources(back))
		}
		if again := FormatResources(back); again != text {
			t.Fatalf("format is not stable for %q: %q then %q", spec, text, again)
		}
	})
}
