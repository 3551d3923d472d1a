package v1alpha1_test

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	v1alpha1 "meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/config/crd"
)

func quantity(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

// typedObjects are objects as Go clients build them, with only the required
// fields and the ones a controller typically sets.
func typedObjects() []client.Object {
	template := v1alpha1.TaskTemplate{
		Resources: v1alpha1.Resources{Cpus: quantity("100m"), Mem: quantity("32Mi")},
		Container: v1alpha1.Container{Image: "oci:/var/lib/meseta/images/busybox", Command: []string{"true"}},
	}
	now := metav1.NewTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	meta := metav1.ObjectMeta{Name: "x", Namespace: "team-a"}
	return []client.Object{
		&v1alpha1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: "node-a"},
			Spec:       v1alpha1.NodeSpec{Drain: &v1alpha1.NodeDrain{GracePeriod: &metav1.Duration{Duration: 90 * time.Second}, RequestedAt: &now}},
			Status: v1alpha1.NodeStatus{
				Phase:       v1alpha1.NodeReady,
				Capacity:    v1alpha1.Resources{Cpus: quantity("4"), Mem: quantity("8Gi"), Ports: []v1alpha1.PortRange{{Begin: 31000, End: 32000}}},
				Allocatable: v1alpha1.Resources{Cpus: quantity("4"), Mem: quantity("8Gi")},
				Conditions: []metav1.Condition{{
					Type: v1alpha1.NodeReadyCondition, Status: metav1.ConditionTrue, Reason: v1alpha1.NodeAgentReadyReason,
					LastTransitionTime: now,
				}},
			},
		},
		&v1alpha1.Role{ObjectMeta: metav1.ObjectMeta{Name: "eng.frontend"}},
		&v1alpha1.Framework{ObjectMeta: meta},
		&v1alpha1.Offer{
			ObjectMeta: meta,
			Spec: v1alpha1.OfferSpec{
				Framework: "analytics", NodeName: "node-a", ExpiresAt: &now,
				Resources: v1alpha1.Resources{Cpus: quantity("1.5"), Mem: quantity("3Gi")},
				Decline:   &v1alpha1.OfferDecline{RefuseSeconds: ptr.To[int32](0)},
			},
		},
		&v1alpha1.Task{
			ObjectMeta: meta,
			Spec: v1alpha1.TaskSpec{
				Framework: "analytics", Offers: []string{"o1"}, TaskTemplate: template,
			},
			Status: v1alpha1.TaskStatus{State: v1alpha1.TaskFailed, ExitCode: ptr.To[int32](0), Reason: v1alpha1.ReasonContainerLimitation},
		},
		&v1alpha1.App{ObjectMeta: meta, Spec: v1alpha1.AppSpec{
			Instances: ptr.To[int32](0), Template: template,
			Constraints: []v1alpha1.Constraint{{"hostname", v1alpha1.ConstraintUnique}},
		}},
		&v1alpha1.Job{ObjectMeta: meta, Spec: v1alpha1.JobSpec{Template: template, BackoffLimit: ptr.To[int32](0)}},
	}
}

func TestTypedObjectsMatchSchema(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	for _, obj := range typedObjects() {
		gvks, _, err := scheme.ObjectKinds(obj)
		if err != nil {
			t.Fatal(err)
		}
		kind := gvks[0].Kind
		t.Run(kind, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(gvks[0].GroupVersion()).To(Equal(v1alpha1.GroupVersion))
			obj.GetObjectKind().SetGroupVersionKind(gvks[0])

			// As sent by a client: JSON.
			data, err := json.Marshal(obj)
			g.Expect(err).NotTo(HaveOccurred())
			sent := map[string]any{}
			g.Expect(utiljson.Unmarshal(data, &sent)).To(Succeed())
			g.Expect(schemaFor(t, kind).admit(t.Context(), sent, nil)).To(BeEmpty())

			// As converted for server-side apply and dynamic clients.
			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(schemaFor(t, kind).admit(t.Context(), u, nil)).To(BeEmpty())

			// And the defaulted object decodes back into the Go type.
			back := obj.DeepCopyObject()
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(sent, back)).To(Succeed())
		})
	}
}

func TestObjectListsAreRegistered(t *testing.T) {
	g := NewWithT(t)
	scheme := runtime.NewScheme()
	g.Expect(v1alpha1.AddToScheme(scheme)).To(Succeed())
	for _, kind := range []string{"Node", "Role", "Framework", "Offer", "Task", "App", "Job"} {
		g.Expect(scheme.Recognizes(v1alpha1.GroupVersion.WithKind(kind))).To(BeTrue(), kind)
		g.Expect(scheme.Recognizes(v1alpha1.GroupVersion.WithKind(kind+"List"))).To(BeTrue(), kind+"List")
	}
	g.Expect(v1alpha1.Resource("tasks").String()).To(Equal("tasks.meseta.dev"))
}

// TestTaskTemplateIsTaskSpec checks that an App's template has the shape of a
// Task's spec less framework, offers and nodeName, rules included (the Task
// CRD as generated: the master serves it without its rules, crd.Served).
func TestTaskTemplateIsTaskSpec(t *testing.T) {
	g := NewWithT(t)
	generated, err := crd.Definition("tasks")
	g.Expect(err).NotTo(HaveOccurred())
	task, err := newCRDSchema(generated)
	g.Expect(err).NotTo(HaveOccurred())
	taskSpec := task.structural.Properties["spec"]
	for _, kind := range []string{"App", "Job"} {
		template := schemaFor(t, kind).structural.Properties["spec"].Properties["template"]
		want := slices.Sorted(maps.Keys(taskSpec.Properties))
		want = slices.DeleteFunc(want, func(k string) bool { return k == "framework" || k == "offers" || k == "nodeName" })
		g.Expect(slices.Sorted(maps.Keys(template.Properties))).To(Equal(want), kind)
		for _, name := range want {
			g.Expect(template.Properties[name]).To(Equal(taskSpec.Properties[name]), "%s.spec.template.%s", kind, name)
		}
	}
}

func TestTaskStatesMatchSchema(t *testing.T) {
	g := NewWithT(t)
	state := schemaFor(t, "Task").structural.Properties["status"].Properties["state"]
	var enum []v1alpha1.TaskState
	for _, v := range state.ValueValidation.Enum {
		enum = append(enum, v1alpha1.TaskState(v.Object.(string)))
	}
	g.Expect(enum).To(Equal(v1alpha1.TaskStates))
}

// TestTerminalTaskStates checks TaskState.IsTerminal against Mesos' terminal
// states and against the schema's rule that terminal states are final.
func TestTerminalTaskStates(t *testing.T) {
	terminal := map[v1alpha1.TaskState]bool{
		v1alpha1.TaskFinished: true, v1alpha1.TaskFailed: true, v1alpha1.TaskKilled: true, v1alpha1.TaskError: true,
		v1alpha1.TaskLost: true, v1alpha1.TaskDropped: true, v1alpha1.TaskGone: true,
	}
	for _, from := range v1alpha1.TaskStates {
		t.Run(string(from), func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			g.Expect(from.IsTerminal()).To(Equal(terminal[from]))
			to := v1alpha1.TaskRunning
			if from == to {
				to = v1alpha1.TaskKilled
			}
			s := schemaFor(t, "Task")
			old := object(t, "Task", taskBody+"status: {state: "+string(from)+"}")
			g.Expect(s.admit(t.Context(), old, nil)).To(BeEmpty())
			updated := mergePatch(old, map[string]any{"status": map[string]any{"state": string(to)}})
			errs := s.admit(t.Context(), updated, old)
			if from.IsTerminal() {
				g.Expect(errs).To(HaveLen(1))
				g.Expect(errs[0].Field).To(Equal("status.state"))
			} else {
				g.Expect(errs).To(BeEmpty())
			}
		})
	}
	g := NewWithT(t)
	g.Expect(v1alpha1.TaskState("").IsTerminal()).To(BeFalse())
	task := &v1alpha1.Task{Status: v1alpha1.TaskStatus{State: v1alpha1.TaskGone}}
	g.Expect(task.IsTerminal()).To(BeTrue())
	g.Expect(task.IsBound()).To(BeFalse())
}

func TestOfferPhases(t *testing.T) {
	phases := []v1alpha1.OfferPhase{
		v1alpha1.OfferOutstanding, v1alpha1.OfferAccepted, v1alpha1.OfferDeclined, v1alpha1.OfferRescinded, v1alpha1.OfferExpired,
	}
	for _, from := range phases {
		t.Run(string(from), func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			g.Expect(from.IsFinal()).To(Equal(from != v1alpha1.OfferOutstanding))
			s := schemaFor(t, "Offer")
			old := object(t, "Offer", offerBody+"status: {phase: "+string(from)+"}")
			g.Expect(s.admit(t.Context(), old, nil)).To(BeEmpty())
			to := v1alpha1.OfferExpired
			if from == to {
				to = v1alpha1.OfferAccepted
			}
			updated := mergePatch(old, map[string]any{"status": map[string]any{"phase": string(to)}})
			errs := s.admit(t.Context(), updated, old)
			if from.IsFinal() {
				g.Expect(errs).To(HaveLen(1))
				g.Expect(errs[0].Field).To(Equal("status.phase"))
			} else {
				g.Expect(errs).To(BeEmpty())
			}
		})
	}
	g := NewWithT(t)
	g.Expect(v1alpha1.OfferPhase("").IsFinal()).To(BeFalse())
	offer := &v1alpha1.Offer{}
	g.Expect(offer.IsOutstanding()).To(BeTrue())
	offer.Spec.Decline = &v1alpha1.OfferDecline{}
	g.Expect(offer.IsOutstanding()).To(BeFalse())
}

func TestHelpers(t *testing.T) {
	g := NewWithT(t)

	parent, ok := v1alpha1.ParentRole("eng.frontend.web")
	g.Expect(parent).To(Equal("eng.frontend"))
	g.Expect(ok).To(BeTrue())
	_, ok = v1alpha1.ParentRole("eng")
	g.Expect(ok).To(BeFalse())

	role := &v1alpha1.Role{}
	weight := role.EffectiveWeight()
	g.Expect(weight.Cmp(resource.MustParse("1"))).To(BeZero())
	role.Spec.Weight = quantity("2.5")
	weight = role.EffectiveWeight()
	g.Expect(weight.Cmp(resource.MustParse("2500m"))).To(BeZero())

	fw := &v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a"}}
	g.Expect(fw.EffectiveRole()).To(Equal("team-a"))
	fw.Spec.Role = "eng"
	g.Expect(fw.EffectiveRole()).To(Equal("eng"))
	g.Expect(fw.HasCapability(v1alpha1.CapabilityGPUResources)).To(BeFalse())
	fw.Spec.Capabilities = []v1alpha1.FrameworkCapability{v1alpha1.CapabilityGPUResources}
	g.Expect(fw.HasCapability(v1alpha1.CapabilityGPUResources)).To(BeTrue())

	node := &v1alpha1.Node{}
	g.Expect(node.IsReady()).To(BeFalse())
	node.Status.Conditions = []metav1.Condition{{Type: v1alpha1.NodeReadyCondition, Status: metav1.ConditionTrue}}
	g.Expect(node.IsReady()).To(BeTrue())

	job := &v1alpha1.Job{}
	g.Expect(job.IsFinished()).To(BeFalse())
	job.Status.Conditions = []metav1.Condition{{Type: v1alpha1.JobFailedCondition, Status: metav1.ConditionTrue}}
	g.Expect(job.IsFinished()).To(BeTrue())
}
