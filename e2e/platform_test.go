package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// TestPlatformServices checks the Kubernetes machinery a Meseta master serves:
// health and metrics endpoints, service account tokens authenticated and
// authorized by RBAC, and admission policies; and that the master holds the
// soft memory limit it was given, with the collector's growth target that
// goes with it.
func TestPlatformServices(t *testing.T) {
	c := startMaster(t, "--memory-limit", "3Gi")

	t.Run("ready means the admission policies are enforced", func(t *testing.T) {
		g := NewWithT(t)
		// The first request after /readyz: the readiness policy, applied
		// last, refuses its probe already (and so every policy before it).
		out, err := c.kubectlErr("-n", "meseta-system", "create", "configmap", "meseta-admission-probe", "--dry-run=server")
		g.Expect(err).To(HaveOccurred())
		g.Expect(out).To(ContainSubstring("refused by the admission policies' readiness probe"))
		g.Expect(c.kubectl("-n", "meseta-system", "create", "configmap", "another", "--dry-run=server")).To(ContainSubstring("created (server dry run)"), "it refuses nothing else")
	})

	t.Run("livez, readyz and metrics", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(c.kubectl("get", "--raw", "/livez")).To(Equal("ok"))
		g.Expect(c.kubectl("get", "--raw", "/readyz?verbose")).To(ContainSubstring("poststarthook/meseta-bootstrap ok"))
		metrics := c.kubectl("get", "--raw", "/metrics")
		g.Expect(metrics).To(ContainSubstring("apiserver_request_total"))
		g.Expect(metrics).To(ContainSubstring("\nmeseta_allocator_offers_outstanding "), "the allocator's metrics are the master's")
		g.Expect(metrics).To(ContainSubstring("\nmeseta_binding_tasks_bound_total "), "and the binder's")
		// The limit is of resident memory: the runtime gets what the
		// master's mapped files (its executable, etcd's database) leave.
		runtimeLimit := metricValue(t, metrics, "go_gc_gomemlimit_bytes")
		g.Expect(runtimeLimit).To(BeNumerically("<", 3<<30), "--memory-limit 3Gi less the mapped files is the runtime's soft limit")
		g.Expect(runtimeLimit).To(BeNumerically(">=", 3<<30-1<<30), "a fresh master maps less than 1Gi of files")
		g.Expect(metrics).To(ContainSubstring("\ngo_gc_gogc_percent 300\n"), "under a soft limit far above the live heap the collector lets it grow to four times what is live")
		g.Expect(c.kubectl("get", "--raw", "/openapi/v3")).To(ContainSubstring("apis/meseta.dev/v1alpha1"))
	})

	t.Run("service account tokens are authenticated and RBAC applies", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(func() error {
			_, err := c.kubectlErr("get", "serviceaccount", "default", "-n", "default")
			return err
		}).Should(Succeed(), "the service account controller creates the default account")
		token := strings.TrimSpace(c.kubectl("create", "token", "default", "-n", "default"))
		g.Expect(token).NotTo(BeEmpty())

		// A client with the token alone: no client certificate.
		asToken := func(args ...string) (string, error) {
			cmd := exec.Command("kubectl", append([]string{"--kubeconfig", "/dev/null",
				"--server", fmt.Sprintf("https://127.0.0.1:%d", c.port),
				"--certificate-authority", filepath.Join(c.dataDir, "pki", "ca.crt"),
				"--token", token}, args...)...)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		out, err := asToken("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
		g.Expect(err).NotTo(HaveOccurred(), out)
		g.Expect(out).To(Equal("system:serviceaccount:default:default"))

		out, err = asToken("get", "tasks")
		g.Expect(err).To(HaveOccurred())
		g.Expect(out).To(ContainSubstring("forbidden"))

		c.kubectl("create", "role", "task-reader", "-n", "default", "--verb=get,list", "--resource=tasks.meseta.dev")
		c.kubectl("create", "rolebinding", "task-reader", "-n", "default", "--role=task-reader", "--serviceaccount=default:default")
		g.Eventually(func() error {
			_, err := asToken("get", "tasks")
			return err
		}).Should(Succeed())
	})

	t.Run("a validating admission policy is enforced", func(t *testing.T) {
		g := NewWithT(t)
		policy := `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: small-tasks}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [meseta.dev], apiVersions: [v1alpha1], operations: [CREATE], resources: [tasks]}
  validations:
  - expression: "!has(object.spec.resources.cpus) || quantity(string(object.spec.resources.cpus)).compareTo(quantity('4')) <= 0"
    message: "tasks may ask for at most 4 cpus"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: small-tasks}
spec: {policyName: small-tasks, validationActions: [Deny]}
`
		out, err := c.applyYAML(policy)
		g.Expect(err).NotTo(HaveOccurred(), out)
		big := strings.Replace(strings.Replace(taskYAML, `cpus: "0.5"`, `cpus: "8"`, 1), "report-1", "big", 1)
		g.Eventually(func() string {
			out, _ := c.run("kubectl", []byte(big), "create", "--dry-run=server", "-f", "-")
			return out
		}).WithTimeout(30 * time.Second).Should(ContainSubstring("tasks may ask for at most 4 cpus"))
	})
}

// TestExternalEtcd starts a second master on the first one's etcd with
// --etcd-servers: both serve the same objects, and only one runs the controllers.
func TestExternalEtcd(t *testing.T) {
	g := NewWithT(t)
	first := startMaster(t)
	var ports struct {
		Client int `json:"client"`
	}
	data, err := os.ReadFile(filepath.Join(first.dataDir, "etcd", "ports.json"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(json.Unmarshal(data, &ports)).To(Succeed())
	pki := filepath.Join(first.dataDir, "pki")
	second := startMaster(t,
		"--etcd-servers", "https://127.0.0.1:"+jsonInt(ports.Client),
		"--etcd-cafile", filepath.Join(pki, "ca.crt"),
		"--etcd-certfile", filepath.Join(pki, "etcd-client.crt"),
		"--etcd-keyfile", filepath.Join(pki, "etcd-client.key"))

	out, err := first.applyYAML(frameworkYAML)
	g.Expect(err).NotTo(HaveOccurred(), out)
	g.Expect(second.kubectl("get", "framework", "analytics", "-o", "jsonpath={.spec.role}")).To(Equal("team-a"))

	holder := second.kubectl("get", "lease", "-n", "meseta-system", "meseta-controller-manager", "-o", "jsonpath={.spec.holderIdentity}")
	g.Expect(holder).NotTo(BeEmpty())
	g.Expect(second.master.log.String()).NotTo(ContainSubstring("Successfully acquired lease"), "the first master keeps the leadership")
}

func jsonInt(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestMasterRejectsBadFlags checks that the master refuses flags out of range
// before it starts anything, naming the flag and what it accepts.
func TestMasterRejectsBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--max-node-heartbeats-per-second=-1"}, "--max-node-heartbeats-per-second: Invalid value: -1: must be zero (no bound) or positive"},
		{[]string{"--node-timeout=0s"}, `--node-timeout: Invalid value: "0s": must be positive`},
		{[]string{"--memory-limit=lots"}, `--memory-limit: Invalid value: "lots": must be a quantity of bytes such as 3584Mi or 4G`},
		{[]string{"--memory-limit=100Mi"}, `--memory-limit: Invalid value: "100Mi": must be at least 256Mi, the least a master needs`},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			dataDir := t.TempDir()
			args := append([]string{"master", "--data-dir", dataDir}, tt.args...)
			out, err := exec.Command(filepath.Join(binDir(t), "meseta"), args...).CombinedOutput()
			if err == nil {
				t.Fatalf("meseta %v succeeded, want an error:\n%s", args, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Fatalf("meseta %v said:\n%s\nwant it to say %q", args, out, tt.want)
			}
			if entries, _ := os.ReadDir(dataDir); len(entries) > 0 {
				t.Fatalf("meseta %v wrote %d entries to its data dir before it refused its flags", args, len(entries))
			}
		})
	}
}

// metricValue returns the value of the sample named name (without labels) in
// a Prometheus text exposition.
func metricValue(t *testing.T, exposition, name string) float64 {
	t.Helper()
	for _, line := range strings.Split(exposition, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
