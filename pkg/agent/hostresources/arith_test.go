package hostresources

import (
	"testing"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestDefaultReserveAndSubtract(t *testing.T) {
	tests := []struct {
		name            string
		capacity        string
		wantAllocatable string
	}{
		{name: "big machine keeps the caps", capacity: "cpus:8;mem:16Gi;disk:100Gi;ports:[31000-32000]", wantAllocatable: "cpus:7900m;mem:15Gi;disk:95Gi;ports:[31000-32000]"},
		{name: "small machine keeps half", capacity: "cpus:1;mem:1Gi;disk:2Gi", wantAllocatable: "cpus:1;mem:512Mi;disk:1Gi"},
		{name: "nothing known", capacity: "", wantAllocatable: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			capacity, err := ParseResources(tt.capacity)
			g.Expect(err).NotTo(HaveOccurred())
			want, err := ParseResources(tt.wantAllocatable)
			g.Expect(err).NotTo(HaveOccurred())
			got := Subtract(capacity, DefaultReserve(capacity))
			g.Expect(equalResources(got, want)).To(BeTrue(), "got %s", FormatResources(got))
		})
	}
}

func TestSubtractClampsAndCutsPorts(t *testing.T) {
	tests := []struct {
		name, a, b, want string
	}{
		{name: "clamped at zero", a: "cpus:1;mem:1Gi", b: "cpus:2;mem:2Gi", want: "cpus:0;mem:0"},
		{name: "missing in a stays missing", a: "cpus:1", b: "mem:1Gi", want: "cpus:1"},
		{name: "ports cut in the middle", a: "ports:[100-200]", b: "ports:[150-160]", want: "ports:[100-149,161-200]"},
		{name: "ports cut whole and at edges", a: "ports:[10-20,30-40,50-60]", b: "ports:[10-20,35-45,50]", want: "ports:[30-34,51-60]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			a, errA := ParseResources(tt.a)
			b, errB := ParseResources(tt.b)
			want, errW := ParseResources(tt.want)
			g.Expect([]error{errA, errB, errW}).To(HaveEach(BeNil()))
			got := Subtract(a, b)
			g.Expect(equalResources(got, want)).To(BeTrue(), "got %s", FormatResources(got))
		})
	}
}

func TestOverride(t *testing.T) {
	g := NewWithT(t)
	detected, _ := ParseResources("cpus:4;mem:8Gi;disk:100Gi;ports:[31000-32000]")
	given, _ := ParseResources("mem:2048;ports:[8000-9000]")
	got := Override(detected, given)
	want, _ := ParseResources("cpus:4;mem:2Gi;disk:100Gi;ports:[8000-9000]")
	g.Expect(equalResources(got, want)).To(BeTrue(), "got %s", FormatResources(got))
	g.Expect(equalResources(detected, v1alpha1.Resources{Cpus: q("4"), Mem: q("8Gi"), Disk: q("100Gi"), Ports: DefaultPorts})).To(BeTrue(), "base unchanged")
}
