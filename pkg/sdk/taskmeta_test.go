package sdk

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestDefaultEnv(t *testing.T) {
	g := NewWithT(t)
	task := NewTask("t", v1alpha1.TaskTemplate{Container: v1alpha1.Container{Env: []v1alpha1.EnvVar{{Name: "A", Value: "mine"}}}})
	DefaultEnv(&task, v1alpha1.EnvVar{Name: "A", Value: "default"}, v1alpha1.EnvVar{Name: "B", Value: "b"})
	g.Expect(task.Spec.Container.Env).To(Equal([]v1alpha1.EnvVar{{Name: "A", Value: "mine"}, {Name: "B", Value: "b"}}))
}

func TestRequestsByAnnotation(t *testing.T) {
	g := NewWithT(t)
	of := RequestsByAnnotation("meseta.dev/app")
	owned := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web.1", Annotations: map[string]string{"meseta.dev/app": "web"}}}
	reqs := of(context.Background(), owned)
	g.Expect(reqs).To(HaveLen(1))
	g.Expect(reqs[0].Namespace + "/" + reqs[0].Name).To(Equal("ns/web"))
	g.Expect(of(context.Background(), &v1alpha1.Task{})).To(BeEmpty())
}
