package binding

import (
	"testing"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestWithTaskFinalizer(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{name: "none", in: nil, want: []string{v1alpha1.TaskFinalizer}},
		{name: "others are kept", in: []string{"example.com/audit"}, want: []string{"example.com/audit", v1alpha1.TaskFinalizer}},
		{name: "present already: not added twice", in: []string{v1alpha1.TaskFinalizer, "example.com/audit"},
			want: []string{v1alpha1.TaskFinalizer, "example.com/audit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			in := append([]string(nil), tt.in...)
			g.Expect(withTaskFinalizer(in)).To(Equal(tt.want))
			g.Expect(in).To(Equal(tt.in), "the task's own slice is not changed")
		})
	}
}
