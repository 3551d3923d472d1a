package taskvalidation

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

// The tables of apis/v1alpha1 (TestCreateValidation, TestUpdateValidation,
// TestTaskRulesAreEnforcedInGo) run these rules through the served schema
// for every message; these cases are what only Go sees.

func task() *v1alpha1.Task {
	cpus := resource.MustParse("1")
	return &v1alpha1.Task{Spec: v1alpha1.TaskSpec{Framework: "web", Offers: []string{"o-1"}, TaskTemplate: v1alpha1.TaskTemplate{
		Resources:       v1alpha1.Resources{Cpus: &cpus, Ports: []v1alpha1.PortRange{{Begin: 31000, End: 31000}, {Begin: 31001, End: 31002}}},
		Container:       v1alpha1.Container{Image: "busybox"},
		KillGracePeriod: &metav1.Duration{Duration: 3 * time.Second},
	}}}
}

func TestUpdateComparesMeanings(t *testing.T) {
	g := NewWithT(t)
	old, same := task(), task()
	milli := resource.MustParse("1000m")
	same.Spec.Resources.Cpus = &milli
	same.Spec.NodeName = "node-a" // bound
	g.Expect(Update(same, old)).To(BeEmpty(), "1000m cpus are 1 cpu; binding sets nodeName once")

	rebound := same.DeepCopy()
	rebound.Spec.NodeName = "node-b"
	g.Expect(Update(rebound, same).ToAggregate()).To(MatchError(ContainSubstring(`spec.nodeName: Invalid value: "node-b": nodeName cannot be changed once set`)))

	slower := task()
	slower.Spec.KillGracePeriod.Duration = time.Minute
	g.Expect(Update(slower, old).ToAggregate()).To(MatchError(ContainSubstring("spec.killGracePeriod: Invalid value: killGracePeriod is immutable")))
}

func TestAdjacentPortRangesDoNotOverlap(t *testing.T) {
	g := NewWithT(t)
	g.Expect(Create(task())).To(BeEmpty())
	repeated := task()
	repeated.Spec.Resources.Ports = append(repeated.Spec.Resources.Ports, v1alpha1.PortRange{Begin: 31000, End: 31000})
	g.Expect(Create(repeated).ToAggregate()).To(MatchError(ContainSubstring("spec.resources.ports: Invalid value: port ranges must not overlap or repeat")))
}

func TestStatusUpdateOfALiveTask(t *testing.T) {
	g := NewWithT(t)
	old, next := task(), task()
	old.Status.State, next.Status.State = v1alpha1.TaskRunning, v1alpha1.TaskFailed
	g.Expect(StatusUpdate(next, old)).To(BeEmpty())
	g.Expect(StatusUpdate(old, next)).To(HaveLen(1))
}
