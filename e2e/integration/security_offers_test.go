package integration

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/security"
)

// TestSecurityFrameworkAcceptsOnlyItsOffers runs the offer and binding
// controllers and has frameworks, each with its own service account and
// nothing but meseta:framework in its namespace, accept offers: their own are
// bound by the master; another framework's offer, or a name from another
// namespace, ends the task Dropped with InvalidOffers, since admission cannot
// look at other objects.
func TestSecurityFrameworkAcceptsOnlyItsOffers(t *testing.T) {
	env := startOffers(t, master.SchedulingOptions{}, nil, nil)
	analytics := env.framework("team-a", "analytics")
	other := env.framework("team-a", "other")
	intruder := env.framework("team-b", "intruder")
	// The nodes join once every framework is registered, so that the first
	// allocation shares them out instead of offering all to the first one.
	for _, n := range []string{"node-a", "node-b", "node-c", "node-d", "node-e", "node-f"} {
		env.node(n, "cpus:2;mem:2Gi")
	}
	as := map[types.NamespacedName]client.Client{}
	for _, fw := range []types.NamespacedName{analytics, other, intruder} {
		id := serviceAccountIdentity(t, env.m, fw.Namespace, fw.Name)
		bind(t, env.c, security.FrameworkRole, fw.Namespace, serviceAccountSubject(fw.Namespace, fw.Name))
		NewWithT(t).Eventually(func() error {
			return id.client.List(env.ctx(), &v1alpha1.OfferList{}, client.InNamespace(fw.Namespace))
		}).WithTimeout(policyWait).Should(Succeed())
		as[fw] = id.client
	}
	offerOf := func(fw types.NamespacedName) string {
		var name string
		NewWithT(t).Eventually(func() []v1alpha1.Offer {
			got := env.offersOf(fw, v1alpha1.OfferOutstanding)
			if len(got) > 0 {
				name = got[0].Name
			}
			return got
		}).WithTimeout(20 * time.Second).ShouldNot(BeEmpty())
		return name
	}
	own, others, foreign := offerOf(analytics), offerOf(other), offerOf(intruder)

	tests := []struct {
		name       string
		as         types.NamespacedName
		task       *v1alpha1.Task
		wantBound  bool
		wantReason v1alpha1.TaskReason
	}{
		{"its own offer is bound by the master", analytics, newTask(analytics, "own", "cpus:0.5;mem:64Mi", own), true, ""},
		{"another framework's offer in its namespace is dropped", analytics, newTask(analytics, "borrowed", "cpus:0.5;mem:64Mi", others), false, v1alpha1.ReasonInvalidOffers},
		{"an offer name from another namespace is dropped", intruder, newTask(intruder, "reach", "cpus:0.5;mem:64Mi", own), false, v1alpha1.ReasonInvalidOffers},
		{"another namespace's offer name is not found", analytics, newTask(analytics, "stretch", "cpus:0.5;mem:64Mi", foreign), false, v1alpha1.ReasonInvalidOffers},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(as[tt.as].Create(env.ctx(), tt.task)).To(Succeed())
			got := env.waitTask(client.ObjectKeyFromObject(tt.task))
			g.Expect(got.IsBound()).To(Equal(tt.wantBound), "task %s: %+v", got.Name, got.Status)
			if tt.wantReason != "" {
				g.Expect(got.Status.State).To(Equal(v1alpha1.TaskDropped))
				g.Expect(got.Status.Reason).To(Equal(tt.wantReason))
			}
		})
	}

	t.Run("a framework cannot launch into another namespace", func(t *testing.T) {
		err := as[intruder].Create(env.ctx(), newTask(analytics, "intrusion", "cpus:0.5;mem:64Mi", own))
		NewWithT(t).Expect(apierrors.IsForbidden(err)).To(BeTrue(), "got %v", err)
	})
}
