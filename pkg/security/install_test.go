package security

import (
	"slices"
	"testing"

	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// clusterRoles decodes the ClusterRoles of the manifests by name.
func clusterRoles(t *testing.T) map[string]*rbacv1.ClusterRole {
	t.Helper()
	objs, err := Manifests()
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]*rbacv1.ClusterRole{}
	for _, o := range objs {
		if o.GetKind() != "ClusterRole" {
			continue
		}
		r := &rbacv1.ClusterRole{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, r, true); err != nil {
			t.Fatalf("ClusterRole %s: %v", o.GetName(), err)
		}
		roles[r.Name] = r
	}
	return roles
}

// grants reports whether role allows verb on group/resource.
func grants(role *rbacv1.ClusterRole, verb, group, resource string) bool {
	match := func(list []string, v string) bool { return slices.Contains(list, v) || slices.Contains(list, "*") }
	for _, r := range role.Rules {
		if match(r.Verbs, verb) && match(r.APIGroups, group) && match(r.Resources, resource) && len(r.ResourceNames) == 0 {
			return true
		}
	}
	return false
}

func TestManifestsDecode(t *testing.T) {
	g := NewWithT(t)
	objs, err := Manifests()
	g.Expect(err).NotTo(HaveOccurred())
	seen := map[string]bool{}
	for _, o := range objs {
		key := o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
		g.Expect(seen).NotTo(HaveKey(key), "duplicate object")
		seen[key] = true
	}
	g.Expect(seen).To(HaveKey("ClusterRole//" + ViewerRole))
	g.Expect(seen).To(HaveKey("ValidatingAdmissionPolicy//meseta-task-binding"))
	g.Expect(seen).To(HaveKey("FlowSchema//meseta-nodes"))
}

func TestDecodeRefusesUnknownKinds(t *testing.T) {
	_, err := decodeAll([]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n"))
	NewWithT(t).Expect(err).To(MatchError(ContainSubstring("kind Secret")))
}

// TestLeastPrivilege pins what each role must and must not grant, so a change
// to the YAML that widens a role fails here first.
func TestLeastPrivilege(t *testing.T) {
	roles := clusterRoles(t)
	tests := []struct {
		role                  string
		verb, group, resource string
		want                  bool
	}{
		{ViewerRole, "list", "meseta.dev", "tasks", true},
		{ViewerRole, "get", "", "secrets", false},
		{ViewerRole, "create", "meseta.dev", "tasks", false},
		{ViewerRole, "patch", "meseta.dev", "nodes", false},
		{OperatorRole, "patch", "meseta.dev", "nodes", true},
		{OperatorRole, "create", "meseta.dev", "roles", true},
		{OperatorRole, "delete", "meseta.dev", "tasks", true},
		{OperatorRole, "create", "meseta.dev", "tasks/binding", true},
		{OperatorRole, "update", "meseta.dev", "tasks/status", false},
		{OperatorRole, "list", "", "secrets", false},
		{AdminRole, "create", "", "namespaces", true},
		{AdminRole, "create", "rbac.authorization.k8s.io", "rolebindings", true},
		{AdminRole, "create", "rbac.authorization.k8s.io", "clusterrolebindings", false},
		{AdminRole, "get", "", "secrets", false},
		{FrameworkRole, "list", "meseta.dev", "offers", true},
		{FrameworkRole, "patch", "meseta.dev", "offers", true},
		{FrameworkRole, "create", "meseta.dev", "offers", false},
		{FrameworkRole, "update", "meseta.dev", "offers/status", false},
		{FrameworkRole, "create", "meseta.dev", "tasks", true},
		{FrameworkRole, "update", "meseta.dev", "tasks", false},
		{FrameworkRole, "update", "meseta.dev", "tasks/status", false},
		{FrameworkRole, "update", "coordination.k8s.io", "leases", true},
		{FrameworkRole, "get", "", "secrets", false},
		{NodeRole, "update", "meseta.dev", "tasks/status", true},
		{NodeRole, "update", "meseta.dev", "nodes/status", true},
		{NodeRole, "delete", "meseta.dev", "tasks", false},
		{NodeRole, "update", "coordination.k8s.io", "leases", false},
		{NodeRole, "create", "authentication.k8s.io", "tokenreviews", true},
		{NodeRole, "get", "", "secrets", false},
		{NodeRole, "list", "meseta.dev", "offers", false},
	}
	for _, tt := range tests {
		t.Run(tt.role+" "+tt.verb+" "+tt.resource, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(roles).To(HaveKey(tt.role))
			g.Expect(grants(roles[tt.role], tt.verb, tt.group, tt.resource)).To(Equal(tt.want))
		})
	}
}
