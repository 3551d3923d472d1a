package sdk

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestRunOptionsSelectTheFrameworksOwnOffersAndTasks(t *testing.T) {
	g := NewWithT(t)
	opts := RunOptions(context.Background(), Framework{Name: "analytics", Namespace: "team-a"})
	g.Expect(opts.Cache.DefaultNamespaces).To(HaveLen(1))
	g.Expect(opts.Cache.DefaultNamespaces).To(HaveKey("team-a"))
	selected := map[string]fields.Selector{}
	for obj, by := range opts.Cache.ByObject {
		selected[kindOf(obj)] = by.Field
	}
	g.Expect(selected).To(HaveLen(2))
	for _, kind := range []string{"Offer", "Task"} {
		g.Expect(selected).To(HaveKey(kind))
		g.Expect(selected[kind].String()).To(Equal("spec.framework=analytics"), kind)
	}
}

func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *v1alpha1.Offer:
		return "Offer"
	case *v1alpha1.Task:
		return "Task"
	}
	return "other"
}
