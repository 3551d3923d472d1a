package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// auditEvent is the part of an audit.k8s.io/v1 Event the test reads.
type auditEvent struct {
	Level     string `json:"level"`
	Verb      string `json:"verb"`
	ObjectRef struct {
		Resource string `json:"resource"`
		APIGroup string `json:"apiGroup"`
		Name     string `json:"name"`
	} `json:"objectRef"`
	User struct {
		Username string `json:"username"`
	} `json:"user"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
}

func readAudit(t testing.TB, path string) (events []auditEvent, raw string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e auditEvent
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			events = append(events, e)
		}
	}
	return events, string(data)
}

// TestSecurityIdentitiesAndAudit runs the real binaries: `meseta master
// --audit-log`, `meseta token create`, `mesetactl create kubeconfig` and
// kubectl with the minted identities, then reads the audit log.
func TestSecurityIdentitiesAndAudit(t *testing.T) {
	auditLog := filepath.Join(t.TempDir(), "audit.log")
	c := startMaster(t, "--audit-log", auditLog)
	as := func(kubeconfig string, args ...string) (string, error) {
		out, err := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
		return string(out), err
	}

	t.Run("the default audit policy is written to the data dir", func(t *testing.T) {
		g := NewWithT(t)
		g.Expect(filepath.Join(c.dataDir, "audit-policy.yaml")).To(BeAnExistingFile())
	})

	t.Run("a bootstrap token authenticates as a bootstrapper", func(t *testing.T) {
		g := NewWithT(t)
		bootKubeconfig := filepath.Join(t.TempDir(), "bootstrap.kubeconfig")
		out, err := exec.Command(filepath.Join(binDir(t), "meseta"), "token", "create", "--data-dir", c.dataDir,
			"--ttl", "1h", "--bootstrap-kubeconfig", bootKubeconfig).CombinedOutput()
		g.Expect(err).NotTo(HaveOccurred(), string(out))
		token := strings.TrimSpace(string(out))
		g.Expect(token).To(MatchRegexp(`^[a-z0-9]{6}\.[a-z0-9]{16}$`))
		out2, err := as(bootKubeconfig, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
		g.Expect(err).NotTo(HaveOccurred(), out2)
		g.Expect(out2).To(Equal("system:bootstrap:" + token[:6]))
		out2, err = as(bootKubeconfig, "get", "tasks", "-A")
		g.Expect(err).To(HaveOccurred())
		g.Expect(out2).To(ContainSubstring("forbidden"))
	})

	viewer := filepath.Join(t.TempDir(), "alice.kubeconfig")
	t.Run("mesetactl mints a viewer who can read and not write", func(t *testing.T) {
		g := NewWithT(t)
		out, err := c.mesetactl("create", "kubeconfig", "--user", "alice", "--clusterrole", "meseta:viewer", "-o", viewer)
		g.Expect(err).NotTo(HaveOccurred(), out)
		g.Expect(out).To(ContainSubstring("clusterrole meseta:viewer bound cluster-wide"))
		info, err := os.Stat(viewer)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o600)))
		g.Eventually(func() error {
			_, err := as(viewer, "get", "tasks", "-A")
			return err
		}).WithTimeout(20 * time.Second).Should(Succeed())
		cmd := exec.Command("kubectl", "--kubeconfig", viewer, "create", "-f", "-")
		cmd.Stdin = strings.NewReader(taskYAML)
		refused, err := cmd.CombinedOutput()
		g.Expect(err).To(HaveOccurred())
		g.Expect(string(refused)).To(ContainSubstring("forbidden"))
	})

	t.Run("the audit log records writes, refusals and no secrets", func(t *testing.T) {
		g := NewWithT(t)
		c.kubectl("create", "secret", "generic", "db", "-n", "default", "--from-literal=password=correct-horse-battery")
		out, err := c.applyYAML(taskYAML)
		g.Expect(err).NotTo(HaveOccurred(), out)
		g.Eventually(func(g Gomega) {
			events, raw := readAudit(t, auditLog)
			g.Expect(raw).NotTo(ContainSubstring("correct-horse-battery"), "secret values are never logged")
			g.Expect(events).To(ContainElement(SatisfyAll(
				HaveField("Verb", "create"), HaveField("Level", "Metadata"),
				HaveField("ObjectRef.Resource", "secrets"))))
			g.Expect(events).To(ContainElement(SatisfyAll(
				HaveField("Level", "RequestResponse"), HaveField("ObjectRef.APIGroup", "meseta.dev"),
				HaveField("ObjectRef.Resource", "tasks"), HaveField("ObjectRef.Name", "report-1"))))
			g.Expect(events).To(ContainElement(SatisfyAll(
				HaveField("User.Username", "alice"), HaveField("Verb", "create"),
				HaveField("ResponseStatus.Code", 403))))
			g.Expect(events).To(ContainElement(SatisfyAll(
				HaveField("ObjectRef.Resource", "certificatesigningrequests"), HaveField("Level", "Metadata"))))
			g.Expect(events).NotTo(ContainElement(SatisfyAll(
				HaveField("ObjectRef.Resource", "leases"), HaveField("Verb", "update"))), "heartbeats are not logged")
		}).WithTimeout(20 * time.Second).Should(Succeed())
	})
}

// TestSecurityAgentJoinsWithToken starts `meseta agent --bootstrap-kubeconfig`
// with a token from `meseta token create --node`: the agent trades it for its
// node identity and registers its Node and Lease as meseta:node:<name>.
func TestSecurityAgentJoinsWithToken(t *testing.T) {
	g := NewWithT(t)
	c := startMaster(t)
	bootKubeconfig := filepath.Join(t.TempDir(), "bootstrap.kubeconfig")
	out, err := exec.Command(filepath.Join(binDir(t), "meseta"), "token", "create", "--data-dir", c.dataDir,
		"--ttl", "10m", "--node", "node-j", "--bootstrap-kubeconfig", bootKubeconfig).CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	tokenID := strings.TrimSpace(string(out))[:6]

	workDir := t.TempDir()
	agent := startProcess(t, filepath.Join(binDir(t), "meseta"), "agent", "--bootstrap-kubeconfig", bootKubeconfig,
		"--node-name", "node-j", "--work-dir", workDir, "--runtime", filepath.Join(binDir(t), "runc"),
		"--bind-address", "127.0.0.1", "--port", "0", "--resources", "cpus:1;mem:512Mi")
	t.Cleanup(func() { agent.stop(t, 60*time.Second) })

	g.Eventually(func() (string, error) {
		return c.kubectlErr("get", "leases", "-n", "meseta-system", "node-j", "-o", "jsonpath={.spec.holderIdentity}")
	}).WithTimeout(60*time.Second).Should(Equal("node-j"), func() string { return tail(agent.log.String(), 4000) })
	g.Expect(c.kubectl("get", "nodes.meseta.dev", "node-j", "-o", "jsonpath={.metadata.name}")).To(Equal("node-j"))
	csrs := c.kubectl("get", "csr", "-o", `jsonpath={range .items[*]}{.spec.username} {.status.conditions[0].reason}{"\n"}{end}`)
	g.Expect(csrs).To(ContainSubstring("system:bootstrap:" + tokenID + " MesetaNodeAutoApproved"))
	g.Expect(filepath.Join(workDir, "pki", "meseta-node.key")).To(BeAnExistingFile())
}
