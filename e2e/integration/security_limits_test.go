package integration

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mesetav1alpha1 "meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/master"
	"meseta.dev/meseta/pkg/master/mastertest"
)

// TestSecurityRequestLimits sends a body past the API server's limit (413) and
// one within it whose field is past its schema's limit (422), and checks that
// nothing is stored.
func TestSecurityRequestLimits(t *testing.T) {
	m := mastertest.Start(t, mastertest.Options{})
	c := m.Client(t)
	ensureNamespace(t, c, "team-a")

	tests := []struct {
		name  string
		bytes int
		// refused tells whether err is the expected refusal.
		refused func(error) bool
	}{
		{"past the request body limit", master.MaxRequestBodyBytes + 1024, apierrors.IsRequestEntityTooLargeError},
		{"under the body limit, past a field's schema limit", 2 << 20, apierrors.IsInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			task := testTask("team-a", "huge", "", "offer-a")
			task.Spec.Container.Env = []mesetav1alpha1.EnvVar{{Name: "BLOB", Value: strings.Repeat("x", tt.bytes)}}
			err := c.Create(t.Context(), task)
			g.Expect(err).To(HaveOccurred())
			g.Expect(tt.refused(err)).To(BeTrue(), "got %v", err)
			g.Expect(apierrors.IsNotFound(c.Get(t.Context(), client.ObjectKeyFromObject(task), &mesetav1alpha1.Task{}))).To(BeTrue())
		})
	}
}
