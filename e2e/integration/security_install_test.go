package integration

import (
	"testing"

	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsscheme "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/scheme"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/client-go/discovery"
	k8sscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/restmapper"
	"k8s.io/kubernetes/pkg/generated/openapi"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/pkg/master/mastertest"
	"meseta.dev/meseta/pkg/security"
)

// TestSecurityInstall checks that the master applied every RBAC, admission and
// priority-and-fairness object, and that the policies' CEL type-checks against
// the served schemas (Meseta's CRDs included) without a warning, as the
// upstream policy status controller would check it.
func TestSecurityInstall(t *testing.T) {
	m := mastertest.Start(t, mastertest.Options{})
	c := m.Client(t)
	g := NewWithT(t)
	objs, err := security.Manifests()
	g.Expect(err).NotTo(HaveOccurred())

	disco := discovery.NewDiscoveryClientForConfigOrDie(m.RESTConfig())
	schemas := resolver.NewDefinitionsSchemaResolver(openapi.GetOpenAPIDefinitions, k8sscheme.Scheme, apiextensionsscheme.Scheme).
		Combine(&resolver.ClientDiscoveryResolver{Discovery: disco})
	// The CRDs' OpenAPI is published a moment after they are established.
	g.Eventually(func() error {
		_, err := schemas.ResolveSchema(schema.GroupVersionKind{Group: "meseta.dev", Version: "v1alpha1", Kind: "Task"})
		return err
	}).WithTimeout(policyWait).Should(Succeed())
	groups, err := restmapper.GetAPIGroupResources(disco)
	g.Expect(err).NotTo(HaveOccurred())
	checker := &validating.TypeChecker{SchemaResolver: schemas, RestMapper: restmapper.NewDiscoveryRESTMapper(groups)}

	for _, want := range objs {
		t.Run(want.GetKind()+" "+want.GetName(), func(t *testing.T) {
			g := NewWithT(t)
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(want.GroupVersionKind())
			g.Expect(c.Get(t.Context(), client.ObjectKeyFromObject(want), got)).To(Succeed())
			g.Expect(got.GetManagedFields()).To(ContainElement(HaveField("Manager", security.FieldManager)))
			if want.GetKind() != "ValidatingAdmissionPolicy" {
				return
			}
			vap := &admissionv1.ValidatingAdmissionPolicy{}
			g.Expect(c.Get(t.Context(), client.ObjectKeyFromObject(want), vap)).To(Succeed())
			g.Expect(checker.Check(vap)).To(BeEmpty())

			// The checker has teeth: a field the schemas lack is reported.
			broken := vap.DeepCopy()
			broken.Spec.Validations[0].Expression = "object.spec.noSuchField == 'x'"
			g.Expect(checker.Check(broken)).NotTo(BeEmpty())
		})
	}
}
