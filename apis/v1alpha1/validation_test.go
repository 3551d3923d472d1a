package v1alpha1_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"meseta.dev/meseta/config/crd"
)

// object returns a JSON-like object of a kind with the YAML body (spec and
// status) given.
func object(t *testing.T, kind, body string) map[string]any {
	t.Helper()
	header := "apiVersion: meseta.dev/v1alpha1\nkind: " + kind + "\nmetadata: {name: x, namespace: team-a}\n"
	if kind == "Node" || kind == "Role" {
		header = "apiVersion: meseta.dev/v1alpha1\nkind: " + kind + "\nmetadata: {name: x}\n"
	}
	return decodeYAML(t, header+body)
}

// mergePatch applies a JSON merge patch (RFC 7386) to a copy of obj.
func mergePatch(obj map[string]any, patch map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range obj {
		out[k] = v
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(out, k)
		case map[string]any:
			ov, _ := out[k].(map[string]any)
			out[k] = mergePatch(ov, pv)
		default:
			out[k] = v
		}
	}
	return out
}

// expectErrors checks that errs is empty when want is, and otherwise that each
// string in want occurs in the errors' text.
func expectErrors(g *WithT, errs field.ErrorList, want []string) {
	if len(want) == 0 {
		g.Expect(errs).To(BeEmpty())
		return
	}
	g.Expect(errs).NotTo(BeEmpty())
	text := errs.ToAggregate().Error()
	if os.Getenv("SHOW_ERRORS") != "" {
		fmt.Println(text)
	}
	for _, w := range want {
		g.Expect(text).To(ContainSubstring(w))
	}
}

const (
	taskBody = `
spec:
  framework: analytics
  offers: [analytics-node-a-x7k2]
  resources: {cpus: "0.5", mem: 64Mi}
  container: {image: "oci:/var/lib/meseta/images/busybox", command: [sh, -c, "exit 0"]}
`
	offerBody = `
spec:
  framework: analytics
  nodeName: node-a
  resources: {cpus: "1.5", mem: 3Gi, ports: [{begin: 31000, end: 32000}]}
  attributes: {rack: r1}
  expiresAt: "2030-01-01T00:00:00Z"
`
	appBody = `
spec:
  instances: 3
  constraints: [[hostname, UNIQUE]]
  template:
    resources: {cpus: "0.1", mem: 32Mi}
    container: {image: "oci:/var/lib/meseta/images/busybox", command: [httpd, -f, -p, "8080"]}
`
	jobBody = `
spec:
  completions: 5
  parallelism: 2
  backoffLimit: 3
  template: {resources: {cpus: "0.2", mem: 32Mi}, container: {image: "oci:/var/lib/meseta/images/busybox", command: [sh, -c, "exit 0"]}}
`
)

func TestCRDsAreValid(t *testing.T) {
	wantScope := map[string]string{
		"Node": "Cluster", "Role": "Cluster", "Framework": "Namespaced", "Offer": "Namespaced",
		"Task": "Namespaced", "App": "Namespaced", "Job": "Namespaced",
	}
	schemas, err := loadSchemas()
	if err != nil {
		t.Fatal(err)
	}
	if len(schemas) != len(wantScope) {
		t.Fatalf("have CRDs for %d kinds, want %d", len(schemas), len(wantScope))
	}
	for kind, scope := range wantScope {
		t.Run(kind, func(t *testing.T) {
			g := NewWithT(t)
			s := schemaFor(t, kind)
			g.Expect(s.validateCRD(t.Context())).To(BeEmpty())
			c := s.crd
			g.Expect(c.Spec.Group).To(Equal("meseta.dev"))
			g.Expect(c.Spec.Names.Plural).To(Equal(strings.ToLower(kind) + "s"))
			g.Expect(string(c.Spec.Scope)).To(Equal(scope))
			g.Expect(c.Spec.Names.ShortNames).NotTo(BeEmpty())
			g.Expect(c.Spec.Names.Categories).To(ContainElement("meseta"))
			g.Expect(c.Spec.Versions).To(HaveLen(1))
			v := c.Spec.Versions[0]
			g.Expect(v.Name).To(Equal("v1alpha1"))
			g.Expect(v.Served && v.Storage).To(BeTrue())
			g.Expect(v.Subresources).NotTo(BeNil())
			g.Expect(v.Subresources.Status).NotTo(BeNil())
			for _, col := range v.AdditionalPrinterColumns {
				g.Expect(schemaHasPath(s, col.JSONPath)).To(BeTrue(), "printer column %q: no field %s", col.Name, col.JSONPath)
			}
		})
	}
}

// filterExpr matches a JSONPath filter such as [?(@.type=="Ready")].
var filterExpr = regexp.MustCompile(`\[[^\]]*\]`)

// schemaHasPath reports whether a printer column's JSONPath, such as
// .status.conditions[?(@.type=="Ready")].status, names fields of the schema.
func schemaHasPath(s *crdSchema, jsonPath string) bool {
	cur := s.structural
	jsonPath = filterExpr.ReplaceAllString(jsonPath, "[]")
	for _, part := range strings.Split(strings.TrimPrefix(jsonPath, "."), ".") {
		part, filtered := strings.CutSuffix(part, "[]")
		if part == "creationTimestamp" {
			return true // metadata is not in the CRD schema
		}
		prop, ok := cur.Properties[part]
		if !ok {
			return false
		}
		cur = &prop
		if filtered {
			if cur.Items == nil {
				return false
			}
			cur = cur.Items
		}
	}
	return true
}

func TestShortNamesAreUnique(t *testing.T) {
	g := NewWithT(t)
	schemas, err := loadSchemas()
	g.Expect(err).NotTo(HaveOccurred())
	// Short names and resources of Kubernetes that kubectl users know.
	seen := map[string]string{
		"no": "nodes", "po": "pods", "svc": "services", "ns": "namespaces", "cm": "configmaps",
		"sa": "serviceaccounts", "ev": "events", "deploy": "deployments", "rs": "replicasets",
		"ds": "daemonsets", "sts": "statefulsets", "cj": "cronjobs", "ing": "ingresses",
		"crd": "customresourcedefinitions", "pc": "priorityclasses", "pv": "persistentvolumes",
		"role": "roles.rbac", "job": "jobs.batch", "lease": "leases",
	}
	for kind, s := range schemas {
		for _, name := range append(slices.Clone(s.crd.Spec.Names.ShortNames), s.crd.Spec.Names.Plural, s.crd.Spec.Names.Singular) {
			if other, dup := seen[name]; dup && !strings.HasPrefix(other, strings.ToLower(kind)) {
				t.Errorf("%s name %q is also %s", kind, name, other)
			}
			seen[name] = strings.ToLower(kind) + "s"
		}
	}
}

func TestSamplesAreValid(t *testing.T) {
	files, err := filepath.Glob("../../config/samples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples found: %v", err)
	}
	kinds := map[string]bool{}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range splitYAML(string(data)) {
			t.Run(filepath.Base(file)+"/"+string(rune('0'+i)), func(t *testing.T) {
				g := NewWithT(t)
				obj := decodeYAML(t, doc)
				g.Expect(obj["apiVersion"]).To(Equal("meseta.dev/v1alpha1"))
				kind, _ := obj["kind"].(string)
				kinds[kind] = true
				g.Expect(schemaFor(t, kind).admit(t.Context(), obj, nil)).To(BeEmpty())
			})
		}
	}
	for _, kind := range []string{"Role", "Framework", "Task", "App", "Job"} {
		if !kinds[kind] {
			t.Errorf("no sample of kind %s", kind)
		}
	}
}

// createCase is an object created: valid, or with the errors it must get.
type createCase struct {
	name string
	kind string
	body string
	want []string // substrings of the errors; none means valid
}

var createCases = []createCase{
	// Task.
	{name: "task valid", kind: "Task", body: taskBody},
	{name: "task negative cpus", kind: "Task", body: taskBody + `  resources: {cpus: "-1", mem: 64Mi}`,
		want: []string{"spec.resources.cpus", "cpus must not be negative"}},
	{name: "task negative mem", kind: "Task", body: taskBody + `  resources: {cpus: "1", mem: -64Mi}`,
		want: []string{"spec.resources.mem", "mem must not be negative"}},
	{name: "task negative cpus as a number", kind: "Task", body: taskBody + `  resources: {cpus: -2, mem: 64Mi}`,
		want: []string{"spec.resources.cpus", "cpus must not be negative"}},
	{name: "task zero disk and an explicit plus sign", kind: "Task", body: taskBody + `  resources: {cpus: "+0.5", mem: 64Mi, disk: "0"}`},
	{name: "task not a quantity", kind: "Task", body: taskBody + `  resources: {cpus: "lots", mem: 64Mi}`,
		want: []string{"spec.resources.cpus"}},
	{name: "task negative disk", kind: "Task", body: taskBody + `  resources: {cpus: "1", disk: -1Gi}`,
		want: []string{"spec.resources.disk", "disk must not be negative"}},
	{name: "task negative gpus", kind: "Task", body: taskBody + `  resources: {cpus: "1", gpus: "-1"}`,
		want: []string{"spec.resources.gpus", "gpus must not be negative"}},
	{name: "task fractional gpus", kind: "Task", body: taskBody + `  resources: {cpus: "1", gpus: "0.5"}`,
		want: []string{"spec.resources.gpus", "whole number"}},
	{name: "task without cpus and mem", kind: "Task", body: taskBody + `  resources: {disk: 1Gi}`,
		want: []string{"spec.resources", "must ask for some cpus or mem"}},
	{name: "task overlapping ports", kind: "Task", body: taskBody + `  resources: {cpus: "1", ports: [{begin: 31000, end: 31010}, {begin: 31010, end: 31020}]}`,
		want: []string{"spec.resources.ports", "must not overlap"}},
	{name: "task inverted port range", kind: "Task", body: taskBody + `  resources: {cpus: "1", ports: [{begin: 31010, end: 31000}]}`,
		want: []string{"spec.resources.ports[0].end", "end must be at least begin"}},
	{name: "task port out of range", kind: "Task", body: taskBody + `  resources: {cpus: "1", ports: [{begin: 0, end: 70000}]}`,
		want: []string{"spec.resources.ports[0].begin", "spec.resources.ports[0].end"}},
	{name: "task missing framework", kind: "Task", body: strings.Replace(taskBody, "framework: analytics", "", 1),
		want: []string{"spec.framework: Required value"}},
	{name: "task bad framework name", kind: "Task", body: taskBody + `  framework: Analytics_1`,
		want: []string{"spec.framework", "should match"}},
	{name: "task no offers", kind: "Task", body: taskBody + `  offers: []`,
		want: []string{"spec.offers", "a task names the offers it is launched on (offers) or, placed by an operator, a node (nodeName)"}},
	{name: "task placed on a node", kind: "Task", body: taskBody + "  offers: []\n  nodeName: node-a"},
	{name: "task duplicate offers", kind: "Task", body: taskBody + `  offers: [a, a]`,
		want: []string{"spec.offers[1]: Duplicate value"}},
	{name: "task missing resources", kind: "Task", body: taskBody + `  resources: null`,
		want: []string{"spec.resources: Required value"}},
	{name: "task host rootfs without command", kind: "Task", body: taskBody + `  container: {env: [{name: A, value: b}]}`,
		want: []string{"spec.container.command", "command is required when no image is given"}},
	{name: "task host rootfs with command", kind: "Task", body: taskBody + `  container: {command: [/bin/true]}`},
	{name: "task registry image", kind: "Task", body: taskBody + `  container: {image: "registry.example:5000/busybox:1.36"}`},
	{name: "task bad image", kind: "Task", body: taskBody + `  container: {image: "bad image"}`,
		want: []string{"spec.container.image"}},
	{name: "task duplicate env", kind: "Task", body: taskBody + `  container: {image: busybox, env: [{name: A}, {name: A, value: b}]}`,
		want: []string{"spec.container.env[1]: Duplicate value"}},
	{name: "task bad env name", kind: "Task", body: taskBody + `  container: {image: busybox, env: [{name: "A=B"}]}`,
		want: []string{"spec.container.env[0].name"}},
	{name: "task relative workingDir", kind: "Task", body: taskBody + `  container: {image: busybox, workingDir: tmp}`,
		want: []string{"spec.container.workingDir"}},
	{name: "task user by name", kind: "Task", body: taskBody + `  container: {image: busybox, user: nobody}`,
		want: []string{"spec.container.user"}},
	{name: "task uid and gid", kind: "Task", body: taskBody + `  container: {image: busybox, user: "1000:1000"}`},
	{name: "task negative killGracePeriod", kind: "Task", body: taskBody + `  killGracePeriod: -1s`,
		want: []string{"spec.killGracePeriod"}},
	{name: "task killGracePeriod in days", kind: "Task", body: taskBody + `  killGracePeriod: 1d`,
		want: []string{"spec.killGracePeriod"}},
	{name: "task unknown field", kind: "Task", body: taskBody + `  colour: blue`,
		want: []string{"spec.colour", "unknown field"}},
	{name: "task health check HTTP", kind: "Task", body: taskBody + `  healthCheck: {type: HTTP, http: {port: 8080}}`},
	{name: "task health check Command", kind: "Task", body: taskBody + `  healthCheck: {type: Command, command: [/bin/true]}`},
	{name: "task health check without target", kind: "Task", body: taskBody + `  healthCheck: {type: HTTP}`,
		want: []string{"spec.healthCheck.http", "http must be set when type is HTTP"}},
	{name: "task Command health check without command", kind: "Task", body: taskBody + `  healthCheck: {type: Command, tcp: {port: 80}}`,
		want: []string{"spec.healthCheck.command", "command must be set when type is Command", "spec.healthCheck.tcp", "tcp must be set when type is TCP, and only then"}},
	{name: "task TCP health check without tcp", kind: "Task", body: taskBody + `  healthCheck: {type: TCP}`,
		want: []string{"spec.healthCheck.tcp", "tcp must be set when type is TCP"}},
	{name: "task health check zero timeout", kind: "Task", body: taskBody + `  healthCheck: {type: TCP, tcp: {port: 80}, timeout: 0s}`,
		want: []string{"spec.healthCheck.timeout", "timeout must be more than zero"}},
	{name: "task health check two targets", kind: "Task", body: taskBody + `  healthCheck: {type: TCP, tcp: {port: 80}, http: {port: 80}}`,
		want: []string{"spec.healthCheck.http"}},
	{name: "task health check bad type", kind: "Task", body: taskBody + `  healthCheck: {type: gRPC}`,
		want: []string{`spec.healthCheck.type: Unsupported value: "gRPC"`, `"Command", "HTTP", "TCP"`}},
	{name: "task health check zero interval", kind: "Task", body: taskBody + `  healthCheck: {type: TCP, tcp: {port: 80}, interval: 0s}`,
		want: []string{"spec.healthCheck.interval", "interval must be more than zero"}},
	{name: "task health check bad scheme", kind: "Task", body: taskBody + `  healthCheck: {type: HTTP, http: {port: 80, scheme: FTP}}`,
		want: []string{"spec.healthCheck.http.scheme: Unsupported value"}},
	{name: "task health check no failures allowed", kind: "Task", body: taskBody + `  healthCheck: {type: TCP, tcp: {port: 80}, consecutiveFailures: 0}`,
		want: []string{"spec.healthCheck.consecutiveFailures"}},
	{name: "task bad state", kind: "Task", body: taskBody + "status: {state: Done}",
		want: []string{`status.state: Unsupported value: "Done"`}},
	{name: "task negative exit code", kind: "Task", body: taskBody + "status: {state: Failed, exitCode: -1}",
		want: []string{"status.exitCode"}},
	{name: "task terminal status", kind: "Task", body: taskBody + "status: {state: Failed, exitCode: 137, signal: 9, reason: ContainerLimitation, message: OOM}"},

	// Offer.
	{name: "offer valid", kind: "Offer", body: offerBody},
	{name: "offer declined", kind: "Offer", body: offerBody + "  decline: {refuseSeconds: 30}"},
	{name: "offer missing node", kind: "Offer", body: strings.Replace(offerBody, "nodeName: node-a", "", 1),
		want: []string{"spec.nodeName: Required value"}},
	{name: "offer negative refuse", kind: "Offer", body: offerBody + "  decline: {refuseSeconds: -1}",
		want: []string{"spec.decline.refuseSeconds"}},
	{name: "offer negative disk", kind: "Offer", body: offerBody + `  resources: {disk: "-1Gi"}`,
		want: []string{"spec.resources.disk", "disk must not be negative"}},
	{name: "offer bad phase", kind: "Offer", body: offerBody + "status: {phase: Pending}",
		want: []string{`status.phase: Unsupported value: "Pending"`}},

	// Role.
	{name: "role valid", kind: "Role", body: `spec: {weight: "2", limit: {cpus: "8", mem: 16Gi}, guarantee: {cpus: "2"}}`},
	{name: "role without spec", kind: "Role", body: ``},
	{name: "role zero weight", kind: "Role", body: `spec: {weight: "0"}`,
		want: []string{"spec.weight", "weight must be greater than zero"}},
	{name: "role negative weight", kind: "Role", body: `spec: {weight: "-1"}`,
		want: []string{"spec.weight", "weight must be greater than zero"}},
	{name: "role guarantee over limit", kind: "Role", body: `spec: {limit: {cpus: "2", mem: 1Gi}, guarantee: {cpus: "4", mem: 1Gi}}`,
		want: []string{"spec.guarantee.cpus", "guarantee.cpus must not exceed limit.cpus"}},
	{name: "role guarantee of an unlimited resource", kind: "Role", body: `spec: {limit: {cpus: "2"}, guarantee: {mem: 1Gi}}`},
	{name: "role port quota", kind: "Role", body: `spec: {limit: {ports: [{begin: 1, end: 2}]}}`,
		want: []string{"spec.limit.ports", "ports cannot be limited"}},
	{name: "role negative limit", kind: "Role", body: `spec: {limit: {mem: "-1"}}`,
		want: []string{"spec.limit.mem", "mem must not be negative"}},

	// Framework.
	{name: "framework valid", kind: "Framework", body: `spec: {role: eng.frontend, failoverTimeout: 1h30m, capabilities: [GPUResources]}`},
	{name: "framework without spec", kind: "Framework", body: ``},
	{name: "framework bad capability", kind: "Framework", body: `spec: {capabilities: [MultiRole]}`,
		want: []string{`spec.capabilities[0]: Unsupported value: "MultiRole"`}},
	{name: "framework bad failoverTimeout", kind: "Framework", body: `spec: {failoverTimeout: 10 minutes}`,
		want: []string{"spec.failoverTimeout"}},
	{name: "framework bad role", kind: "Framework", body: `spec: {role: Team_A}`,
		want: []string{"spec.role"}},
	{name: "framework negative revive", kind: "Framework", body: `spec: {revive: -1}`,
		want: []string{"spec.revive"}},
	{name: "framework bad phase", kind: "Framework", body: `status: {phase: Running}`,
		want: []string{`status.phase: Unsupported value: "Running"`}},

	// Node.
	{name: "node valid", kind: "Node", body: `
spec: {unschedulable: true, drain: {gracePeriod: 30s}, maintenance: {start: "2030-01-01T00:00:00Z", end: "2030-01-01T02:00:00Z"}, attributes: {rack: r1}}
status:
  phase: Ready
  capacity: {cpus: "4", mem: 8Gi, ports: [{begin: 31000, end: 32000}]}
  allocatable: {cpus: "4", mem: 8Gi}
  attributes: {zone: z1, meseta.dev/os: linux}
  conditions: [{type: Ready, status: "True", reason: AgentReady, message: ok, lastTransitionTime: "2030-01-01T00:00:00Z"}]
`},
	{name: "node maintenance ends before it starts", kind: "Node", body: `spec: {maintenance: {start: "2030-01-02T00:00:00Z", end: "2030-01-01T00:00:00Z"}}`,
		want: []string{"spec.maintenance.end", "end must be after start"}},
	{name: "node maintenance without start", kind: "Node", body: `spec: {maintenance: {end: "2030-01-01T00:00:00Z"}}`,
		want: []string{"spec.maintenance.start: Required value"}},
	{name: "node bad attribute key", kind: "Node", body: `spec: {attributes: {"-rack": r1}}`,
		want: []string{"spec.attributes", "attribute keys"}},
	{name: "node negative capacity", kind: "Node", body: `status: {capacity: {cpus: "-4"}}`,
		want: []string{"status.capacity.cpus", "cpus must not be negative"}},
	{name: "node bad condition", kind: "Node", body: `status: {conditions: [{type: Ready, status: Maybe}]}`,
		want: []string{"status.conditions[0].status", "status.conditions[0].reason: Required value"}},
	{name: "node bad phase", kind: "Node", body: `status: {phase: Up}`,
		want: []string{`status.phase: Unsupported value: "Up"`}},

	// App.
	{name: "app valid", kind: "App", body: appBody},
	{name: "app all constraints", kind: "App", body: appBody + `  constraints: [[hostname, UNIQUE], [rack, CLUSTER, r1], [zone, GROUP_BY], [zone, GROUP_BY, "3"], [rack, LIKE, "r[1-3]"], [rack, UNLIKE, r9], [zone, MAX_PER, "2"]]`},
	{name: "app constraint too short", kind: "App", body: appBody + `  constraints: [[hostname]]`,
		want: []string{"spec.constraints[0]"}},
	{name: "app constraint bad operator", kind: "App", body: appBody + `  constraints: [[hostname, NEAR, x]]`,
		want: []string{"spec.constraints[0]", "operator must be one of"}},
	{name: "app UNIQUE with a value", kind: "App", body: appBody + `  constraints: [[hostname, UNIQUE, x]]`,
		want: []string{"spec.constraints[0]", "UNIQUE takes no value"}},
	{name: "app CLUSTER without a value", kind: "App", body: appBody + `  constraints: [[rack, CLUSTER]]`,
		want: []string{"spec.constraints[0]", "need a value"}},
	{name: "app MAX_PER not a number", kind: "App", body: appBody + `  constraints: [[hostname, UNIQUE], [zone, MAX_PER, two]]`,
		want: []string{"spec.constraints[1]", "positive integer"}},
	{name: "app empty constraint field", kind: "App", body: appBody + `  constraints: [["", UNIQUE]]`,
		want: []string{"spec.constraints[0]", "field must not be empty"}},
	{name: "app negative instances", kind: "App", body: appBody + `  instances: -1`,
		want: []string{"spec.instances"}},
	{name: "app zero instances", kind: "App", body: appBody + `  instances: 0`},
	{name: "app missing template", kind: "App", body: appBody + `  template: null`,
		want: []string{"spec.template: Required value"}},
	{name: "app negative template mem", kind: "App", body: appBody + `  template: {resources: {mem: -1Mi}, container: {image: busybox}}`,
		want: []string{"spec.template.resources.mem", "mem must not be negative"}},
	{name: "app capacity over 100", kind: "App", body: appBody + `  upgradeStrategy: {minimumHealthCapacity: 101}`,
		want: []string{"spec.upgradeStrategy.minimumHealthCapacity"}},
	{name: "app backoff inverted", kind: "App", body: appBody + `  backoff: {initialSeconds: 600, maxSeconds: 60}`,
		want: []string{"spec.backoff.maxSeconds", "at least initialSeconds"}},
	{name: "app backoff factor below 1", kind: "App", body: appBody + `  backoff: {factor: "0.5"}`,
		want: []string{"spec.backoff.factor", "factor must be at least 1"}},

	// Job.
	{name: "job valid", kind: "Job", body: jobBody},
	{name: "job cron", kind: "Job", body: jobBody + `  schedule: "*/5 * * * *"`},
	{name: "job descriptor", kind: "Job", body: jobBody + `  schedule: "@every 1h30m"`},
	{name: "job bad schedule", kind: "Job", body: jobBody + `  schedule: every day`,
		want: []string{"spec.schedule"}},
	{name: "job zero completions", kind: "Job", body: jobBody + `  completions: 0`,
		want: []string{"spec.completions"}},
	{name: "job zero parallelism", kind: "Job", body: jobBody + `  parallelism: 0`,
		want: []string{"spec.parallelism"}},
	{name: "job negative backoffLimit", kind: "Job", body: jobBody + `  backoffLimit: -1`,
		want: []string{"spec.backoffLimit"}},
	{name: "job zero deadline", kind: "Job", body: jobBody + `  activeDeadlineSeconds: 0`,
		want: []string{"spec.activeDeadlineSeconds"}},
	{name: "job bad concurrencyPolicy", kind: "Job", body: jobBody + `  concurrencyPolicy: Sometimes`,
		want: []string{`spec.concurrencyPolicy: Unsupported value: "Sometimes"`, `"Allow", "Forbid", "Replace"`}},
	{name: "job missing template", kind: "Job", body: `spec: {completions: 1}`,
		want: []string{"spec.template: Required value"}},
	{name: "job template without container", kind: "Job", body: `spec: {template: {resources: {cpus: "1"}}}`,
		want: []string{"spec.template.container: Required value"}},
}

func TestCreateValidation(t *testing.T) {
	for _, tt := range createCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			expectErrors(g, tt.admit(t), tt.want)
		})
	}
}

// admit returns the errors the API server answers the creation with.
func (tt createCase) admit(t *testing.T) field.ErrorList {
	return schemaFor(t, tt.kind).admit(t.Context(), object(t, tt.kind, tt.body), nil)
}

// updateCase is a change of a stored object: valid, or with the errors it
// must get.
type updateCase struct {
	name  string
	kind  string
	old   string // body of the stored object
	patch string // merge patch, as YAML, applied to it
	want  []string
}

var updateCases = []updateCase{
	// Task: only nodeName may be set, once; terminal states are final.
	{name: "task binding", kind: "Task", old: taskBody, patch: `spec: {nodeName: node-a}`},
	{name: "task rebinding", kind: "Task", old: taskBody + "  nodeName: node-a", patch: `spec: {nodeName: node-b}`,
		want: []string{"spec.nodeName", "nodeName cannot be changed once set"}},
	{name: "task unbinding", kind: "Task", old: taskBody + "  nodeName: node-a", patch: `spec: {nodeName: null}`,
		want: []string{"spec.nodeName", "nodeName cannot be changed once set"}},
	{name: "task framework change", kind: "Task", old: taskBody, patch: `spec: {framework: other}`,
		want: []string{"spec.framework", "framework is immutable"}},
	{name: "task offers change", kind: "Task", old: taskBody, patch: `spec: {offers: [other]}`,
		want: []string{"spec.offers", "offers are immutable"}},
	{name: "task resources change", kind: "Task", old: taskBody, patch: `spec: {resources: {cpus: "2"}}`,
		want: []string{"spec.resources", "resources are immutable"}},
	{name: "task image change", kind: "Task", old: taskBody, patch: `spec: {container: {image: busybox}}`,
		want: []string{"spec.container", "container is immutable"}},
	{name: "task killGracePeriod change", kind: "Task", old: taskBody, patch: `spec: {killGracePeriod: 1m}`,
		want: []string{"spec.killGracePeriod", "killGracePeriod is immutable"}},
	{name: "task health check added", kind: "Task", old: taskBody, patch: `spec: {healthCheck: {type: TCP, tcp: {port: 80}}}`,
		want: []string{"spec.healthCheck", "healthCheck is immutable"}},
	{name: "task labels change", kind: "Task", old: taskBody, patch: `metadata: {labels: {a: b}}`},
	{name: "task starts running", kind: "Task", old: taskBody + "status: {state: Starting}", patch: `status: {state: Running}`},
	{name: "task first status", kind: "Task", old: taskBody, patch: `status: {state: Staging}`},
	{name: "task finishes", kind: "Task", old: taskBody + "status: {state: Running}", patch: `status: {state: Finished, exitCode: 0}`},
	{name: "task comes back from unreachable", kind: "Task", old: taskBody + "status: {state: Unreachable}", patch: `status: {state: Running}`},
	{name: "task revived after finishing", kind: "Task", old: taskBody + "status: {state: Finished}", patch: `status: {state: Running}`,
		want: []string{"status.state", "a task in a terminal state cannot change state"}},
	{name: "task lost then gone", kind: "Task", old: taskBody + "status: {state: Lost}", patch: `status: {state: Gone}`,
		want: []string{"status.state", "terminal state"}},
	{name: "terminal task state cleared", kind: "Task", old: taskBody + "status: {state: Killed}", patch: `status: {state: null}`,
		want: []string{"status.state", "terminal state"}},
	{name: "terminal task message change", kind: "Task", old: taskBody + "status: {state: Killed}", patch: `status: {message: killed by operator}`},

	// Offer: only decline may be set, once; final phases are final.
	{name: "offer decline", kind: "Offer", old: offerBody, patch: `spec: {decline: {refuseSeconds: 60}}`},
	{name: "offer decline withdrawn", kind: "Offer", old: offerBody + "  decline: {}", patch: `spec: {decline: null}`,
		want: []string{"spec.decline", "a decline cannot be withdrawn"}},
	{name: "offer decline changed", kind: "Offer", old: offerBody + "  decline: {refuseSeconds: 5}", patch: `spec: {decline: {refuseSeconds: 60}}`,
		want: []string{"spec.decline", "decline is immutable once set"}},
	{name: "offer resources change", kind: "Offer", old: offerBody, patch: `spec: {resources: {cpus: "100"}}`,
		want: []string{"spec.resources", "resources are immutable"}},
	{name: "offer node change", kind: "Offer", old: offerBody, patch: `spec: {nodeName: node-b}`,
		want: []string{"spec.nodeName", "nodeName is immutable"}},
	{name: "offer framework change", kind: "Offer", old: offerBody, patch: `spec: {framework: thief}`,
		want: []string{"spec.framework", "framework is immutable"}},
	{name: "offer expiry removed", kind: "Offer", old: offerBody, patch: `spec: {expiresAt: null}`,
		want: []string{"spec.expiresAt", "expiresAt is immutable"}},
	{name: "offer attributes change", kind: "Offer", old: offerBody, patch: `spec: {attributes: {rack: r2}}`,
		want: []string{"spec.attributes", "attributes are immutable"}},
	{name: "offer accepted", kind: "Offer", old: offerBody, patch: `status: {phase: Accepted, tasks: [report-1], reason: TasksLaunched}`},
	{name: "offer accepted then rescinded", kind: "Offer", old: offerBody + "status: {phase: Accepted}", patch: `status: {phase: Rescinded}`,
		want: []string{"status.phase", "no longer Outstanding"}},

	// Framework.
	{name: "framework suppressed", kind: "Framework", old: `spec: {role: eng}`, patch: `spec: {suppressed: true, revive: 3}`},
	{name: "framework role change", kind: "Framework", old: `spec: {role: eng}`, patch: `spec: {role: ops}`,
		want: []string{"spec.role", "role is immutable"}},
	{name: "framework role set", kind: "Framework", old: `spec: {}`, patch: `spec: {role: ops}`,
		want: []string{"spec.role", "role is immutable"}},

	// Job: the template of a one-off job is fixed; schedules stay or go with it.
	{name: "job template change", kind: "Job", old: jobBody, patch: `spec: {template: {resources: {cpus: "1"}}}`,
		want: []string{"spec.template", "template is immutable"}},
	{name: "job scale", kind: "Job", old: jobBody, patch: `spec: {parallelism: 4, suspend: true}`},
	{name: "cron job template change", kind: "Job", old: jobBody + `  schedule: "@daily"`, patch: `spec: {template: {resources: {cpus: "1"}}}`},
	{name: "job schedule added", kind: "Job", old: jobBody, patch: `spec: {schedule: "@daily"}`,
		want: []string{"spec.schedule", "schedule cannot be added"}},

	// App and Node specs are mutable.
	{name: "app template change", kind: "App", old: appBody, patch: `spec: {instances: 5, template: {resources: {cpus: "1"}}}`},
	{name: "node cordon", kind: "Node", old: `spec: {}`, patch: `spec: {unschedulable: true, drain: {gracePeriod: 1m, requestedAt: "2030-01-01T00:00:00Z"}}`},
}

func TestUpdateValidation(t *testing.T) {
	for _, tt := range updateCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			expectErrors(g, tt.admit(t, g), tt.want)
		})
	}
}

// admit returns the errors the API server answers the change with.
func (tt updateCase) admit(t *testing.T, g *WithT) field.ErrorList {
	s := schemaFor(t, tt.kind)
	old := object(t, tt.kind, tt.old)
	// The stored object went through admission when it was created.
	g.Expect(s.admit(t.Context(), old, nil)).To(BeEmpty(), "old object is invalid")
	updated := mergePatch(old, decodeYAML(t, tt.patch))
	return s.admit(t.Context(), updated, old)
}

// TestTaskRulesAreEnforcedInGo checks that every CEL rule of the generated
// Task CRD, which the master serves without them (crd.Served), is enforced
// in Go (package taskvalidation): some case of the tables above gets its
// message, through the schema the master serves and its admission.
func TestTaskRulesAreEnforcedInGo(t *testing.T) {
	g := NewWithT(t)
	generated, err := crd.Definition("tasks")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(crd.RulesInGo).To(ContainElement("tasks"))
	var seen strings.Builder
	for _, tt := range createCases {
		if tt.kind == "Task" {
			for _, err := range tt.admit(t) {
				seen.WriteString(err.Error() + "\n")
			}
		}
	}
	for _, tt := range updateCases {
		if tt.kind == "Task" {
			for _, err := range tt.admit(t, g) {
				seen.WriteString(err.Error() + "\n")
			}
		}
	}
	rules := crd.Rules(generated)
	g.Expect(rules).NotTo(BeEmpty())
	for path, list := range rules {
		for _, r := range list {
			g.Expect(seen.String()).To(ContainSubstring(r.Message), "the rule of %s %q is not enforced in Go, or no case breaks it", path, r.Rule)
		}
	}
	served, err := crd.Served()
	g.Expect(err).NotTo(HaveOccurred())
	for _, c := range served {
		if c.Name == generated.Name {
			g.Expect(crd.Rules(c)).To(BeEmpty(), "the Task CRD is served without CEL rules")
		} else {
			g.Expect(crd.Rules(c)).NotTo(BeEmpty(), "%s keeps its CEL rules", c.Name)
		}
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name string
		kind string
		body string
		want map[string]any // dotted path: value after defaulting
	}{
		{name: "role weight", kind: "Role", body: ``, want: map[string]any{"spec.weight": "1"}},
		{name: "framework failover timeout", kind: "Framework", body: ``, want: map[string]any{"spec.failoverTimeout": "10m"}},
		{name: "offer phase and refuse seconds", kind: "Offer", body: offerBody + "  decline: {}",
			want: map[string]any{"status.phase": "Outstanding", "spec.decline.refuseSeconds": int64(5)}},
		{name: "task kill grace period and health check", kind: "Task", body: taskBody + "  healthCheck: {type: HTTP, http: {port: 80}}",
			want: map[string]any{
				"spec.killGracePeriod": "3s", "spec.healthCheck.delay": "15s", "spec.healthCheck.interval": "10s",
				"spec.healthCheck.timeout": "20s", "spec.healthCheck.gracePeriod": "10s",
				"spec.healthCheck.consecutiveFailures": int64(3), "spec.healthCheck.http.path": "/",
				"spec.healthCheck.http.scheme": "HTTP",
			}},
		{name: "app", kind: "App", body: "spec: {template: {resources: {cpus: \"1\"}, container: {image: busybox}}}",
			want: map[string]any{
				"spec.instances": int64(1), "spec.upgradeStrategy.minimumHealthCapacity": int64(100),
				"spec.upgradeStrategy.maximumOverCapacity": int64(100), "spec.backoff.initialSeconds": int64(1),
				"spec.backoff.factor": "1.15", "spec.backoff.maxSeconds": int64(300),
				"spec.template.killGracePeriod": "3s",
			}},
		{name: "job", kind: "Job", body: "spec: {template: {resources: {cpus: \"1\"}, container: {image: busybox}}}",
			want: map[string]any{
				"spec.completions": int64(1), "spec.parallelism": int64(1), "spec.backoffLimit": int64(6),
				"spec.concurrencyPolicy": "Allow", "spec.successfulJobsHistoryLimit": int64(3),
				"spec.failedJobsHistoryLimit": int64(1),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := NewWithT(t)
			obj := object(t, tt.kind, tt.body)
			g.Expect(schemaFor(t, tt.kind).admit(t.Context(), obj, nil)).To(BeEmpty())
			for path, want := range tt.want {
				g.Expect(lookup(obj, path)).To(BeEquivalentTo(want), path)
			}
		})
	}
}
