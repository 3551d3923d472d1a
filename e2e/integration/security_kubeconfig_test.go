package integration

import (
	"bytes"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mesetav1alpha1 "meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/cli"
	"meseta.dev/meseta/pkg/master/mastertest"
)

// mesetactl runs mesetactl in-process with the given kubeconfig.
func mesetactl(t testing.TB, kubeconfig string, args ...string) (string, error) {
	t.Helper()
	cmd := cli.NewCommand(append([]string{"--kubeconfig", kubeconfig}, args...))
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

// kubeconfigIdentity loads a kubeconfig file as an identity.
func kubeconfigIdentity(t testing.TB, path string) identity {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	return newIdentity(t, path, cfg)
}

// TestSecurityCreateKubeconfig mints kubeconfigs with mesetactl for a person
// (certificate through a CSR) and a framework (service account token), and
// checks what each may do.
func TestSecurityCreateKubeconfig(t *testing.T) {
	m := mastertest.Start(t, mastertest.Options{})
	admin := m.Client(t)
	ensureNamespace(t, admin, "team-a")
	dir := t.TempDir()

	tests := []struct {
		name string
		args []string
		// user is who the kubeconfig authenticates as.
		user string
		// may and mayNot are requests the identity must be allowed and refused.
		may, mayNot func(c client.Client) error
	}{
		{
			name: "viewer user",
			args: []string{"--user", "alice", "--group", "auditors", "--clusterrole", "meseta:viewer"},
			user: "alice",
			may: func(c client.Client) error {
				return c.List(t.Context(), &mesetav1alpha1.TaskList{})
			},
			mayNot: func(c client.Client) error {
				return c.Create(t.Context(), testTask("team-a", "by-alice", "", "some-offer"))
			},
		},
		{
			name: "framework service account",
			args: []string{"-n", "team-a", "--service-account", "analytics", "--clusterrole", "meseta:framework"},
			user: "system:serviceaccount:team-a:analytics",
			may: func(c client.Client) error {
				return c.Create(t.Context(), testTask("team-a", "by-analytics", "", "some-offer"))
			},
			mayNot: func(c client.Client) error {
				return c.List(t.Context(), &corev1.SecretList{}, client.InNamespace("team-a"))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			path := filepath.Join(dir, tt.name+".kubeconfig")
			out, err := mesetactl(t, m.KubeconfigPath, append([]string{"create", "kubeconfig", "-o", path}, tt.args...)...)
			g.Expect(err).NotTo(HaveOccurred(), out)
			id := kubeconfigIdentity(t, path)
			user, err := whoami(t.Context(), id.config)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(user.Username).To(Equal(tt.user))
			g.Eventually(func() error { return tt.may(id.client) }).WithTimeout(policyWait).Should(Succeed())
			g.Expect(apierrors.IsForbidden(tt.mayNot(id.client))).To(BeTrue())
		})
	}

	t.Run("refusals", func(t *testing.T) {
		refusals := []struct {
			name       string
			kubeconfig string
			args       []string
			message    string
		}{
			{"admin group", m.KubeconfigPath, []string{"--user", "mallory", "--group", "system:masters"}, "system:masters"},
			{"no identity", m.KubeconfigPath, nil, "exactly one of --user and --service-account"},
			{"no output", m.KubeconfigPath, []string{"--user", "x", "-o", ""}, "--output"},
			{"not an admin", filepath.Join(dir, "viewer user.kubeconfig"), []string{"--user", "eve"}, "forbidden"},
		}
		for _, r := range refusals {
			t.Run(r.name, func(t *testing.T) {
				g := NewWithT(t)
				out, err := mesetactl(t, r.kubeconfig, append([]string{"create", "kubeconfig", "-o", filepath.Join(dir, "refused")}, r.args...)...)
				g.Expect(err).To(MatchError(ContainSubstring(r.message)), out)
				g.Expect(filepath.Join(dir, "refused")).NotTo(BeAnExistingFile())
			})
		}
	})
}
