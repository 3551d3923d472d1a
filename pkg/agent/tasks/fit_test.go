package tasks

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
)

func TestFit(t *testing.T) {
	node := resources.MustParse("cpus:2;mem:1Gi;ports:[31000-31010]")
	tests := []struct {
		name    string
		inUse   string
		want    string
		wantErr string
	}{
		{name: "empty node", inUse: "", want: "cpus:2;mem:1Gi"},
		{name: "fits beside", inUse: "cpus:1;mem:512Mi", want: "cpus:1;mem:512Mi"},
		{name: "too many cpus", inUse: "cpus:1.5", want: "cpus:1", wantErr: "cpus 0.5 short"},
		{name: "too much memory", inUse: "mem:1Gi", want: "mem:1Mi", wantErr: "mem 1Mi short"},
		{name: "port taken", inUse: "ports:[31005]", want: "cpus:0.1;ports:[31005]", wantErr: "ports [31005] short"},
		{name: "port not allocatable", inUse: "", want: "ports:[80]", wantErr: "ports [80] short"},
		{name: "free port", inUse: "ports:[31005]", want: "ports:[31006]"},
		{name: "nothing asked", inUse: "cpus:2;mem:1Gi", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := Fit(node, resources.MustParse(tt.inUse), resources.MustParse(tt.want))
			if tt.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
			g.Expect(err.Error()).To(ContainSubstring("allocatable"))
		})
	}
}

func TestBound(t *testing.T) {
	admitted := []metav1.Condition{{Type: v1alpha1.TaskBoundCondition, Status: metav1.ConditionTrue}}
	refused := []metav1.Condition{{Type: v1alpha1.TaskBoundCondition, Status: metav1.ConditionFalse}}
	tests := []struct {
		name   string
		node   string
		offers []string
		state  v1alpha1.TaskState
		conds  []metav1.Condition
		want   bool
	}{
		{name: "not bound", want: false},
		{name: "bound through offers", node: "a", offers: []string{"o1"}, want: true},
		{name: "placed, not admitted yet", node: "a", want: false},
		{name: "placed and admitted", node: "a", conds: admitted, want: true},
		{name: "placed and refused", node: "a", conds: refused, want: false},
		{name: "started before", node: "a", state: v1alpha1.TaskRunning, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := &v1alpha1.Task{Spec: v1alpha1.TaskSpec{NodeName: tt.node, Offers: tt.offers},
				Status: v1alpha1.TaskStatus{State: tt.state, Conditions: tt.conds}}
			NewWithT(t).Expect(Bound(task)).To(Equal(tt.want))
		})
	}
}

func TestContainerID(t *testing.T) {
	g := NewWithT(t)
	g.Expect(ContainerID("team-a", "web-1", "0d7c")).To(Equal("team-a_web-1_0d7c"))
	long := ContainerID("ns", stringOf('x', 200), "1234-5678")
	g.Expect(len(long)).To(BeNumerically("<=", 128))
	g.Expect(long).To(HaveSuffix("_1234-5678"))
	g.Expect(hostname("web.v2.example")).To(Equal("web-v2-example"))
	g.Expect(hostname(stringOf('a', 100))).To(HaveLen(63))
}

func stringOf(c byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
