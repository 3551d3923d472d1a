package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mesetav1alpha1 "meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/master/mastertest"
	"meseta.dev/meseta/pkg/security"
)

const (
	// floodWorkers is how many goroutines of one framework hammer the API.
	floodWorkers = 48
	// floodTasks is how many tasks each flooding LIST returns.
	floodTasks = 300
	// floodFor is how long each phase floods.
	floodFor = 15 * time.Second
	// renewEvery is how often the agent renews its Lease (Kubernetes' kubelet:
	// every 10s; here faster, for more samples).
	renewEvery = 250 * time.Millisecond
	// leaseDuration is the agent Lease's duration: a gap longer than this
	// between two renewals would let the node be seen as gone.
	leaseDuration = 40 * time.Second
)

// floodResult is what one phase measured.
type floodResult struct {
	renewals                    []time.Duration
	renewFailures               int
	maxGap                      time.Duration
	floodOK, flood429, floodErr int64
}

func (r floodResult) percentile(p float64) time.Duration {
	s := slices.Clone(r.renewals)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

func (r floodResult) String() string {
	return fmt.Sprintf("lease renewals %d (failed %d): p50 %v p99 %v max %v, largest gap %v; flood requests ok %d, 429 %d, other errors %d",
		len(r.renewals), r.renewFailures, r.percentile(0.5).Round(time.Millisecond), r.percentile(0.99).Round(time.Millisecond),
		r.percentile(1).Round(time.Millisecond), r.maxGap.Round(time.Millisecond), r.floodOK, r.flood429, r.floodErr)
}

// TestSecurityFairness floods the API from one framework's service account
// (many goroutines listing and creating tasks, no client-side rate limit) while
// an agent renews its Lease, first with Meseta's priority levels as installed,
// then with the agent's traffic routed into the framework's level, for
// comparison. The agent must keep its Lease fresh in the first phase; the
// latencies of both are reported, not asserted.
func TestSecurityFairness(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test: floods the API for 30s")
	}
	m := mastertest.Start(t, mastertest.Options{})
	admin := m.Client(t)
	g := NewWithT(t)
	ctx := t.Context()
	ensureNamespace(t, admin, "team-a")
	for i := range floodTasks {
		g.Expect(admin.Create(ctx, testTask("team-a", fmt.Sprintf("ballast-%03d", i), "", "offer-a"))).To(Succeed())
	}
	noisy := serviceAccountIdentity(t, m, "team-a", "noisy")
	bind(t, admin, security.FrameworkRole, "team-a", serviceAccountSubject("team-a", "noisy"))
	noisy.config.QPS, noisy.config.Burst = -1, 0 // no client-side limit: the server must defend itself
	noisyLevel := recordPriorityLevel(noisy.config)
	noisyClient, err := client.New(noisy.config, client.Options{Scheme: admin.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func() error {
		return noisyClient.List(ctx, &mesetav1alpha1.TaskList{}, client.InNamespace("team-a"))
	}).WithTimeout(policyWait).Should(Succeed())
	frameworksLevel := priorityLevelUID(g, ctx, admin, "meseta-frameworks")
	g.Expect(noisyLevel.last.Load()).To(Equal(frameworksLevel), "frameworks' requests are in meseta-frameworks")
	agent := certIdentity(t, m, security.NodeUser("node-a"), security.NodesGroup)
	agentLevel := recordPriorityLevel(agent.config)
	leases := kubernetes.NewForConfigOrDie(agent.config).CoordinationV1().Leases("meseta-system")
	_, err = leases.Create(ctx, &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: "node-a"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("node-a"), LeaseDurationSeconds: ptr.To(int32(leaseDuration / time.Second))},
	}, metav1.CreateOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(agentLevel.last.Load()).To(Equal(priorityLevelUID(g, ctx, admin, "meseta-node-high")), "agents' heartbeats are in meseta-node-high")
	agentClient, err := client.New(agent.config, client.Options{Scheme: admin.Scheme()})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(agentClient.List(ctx, &mesetav1alpha1.TaskList{}, client.InNamespace("team-a"), client.Limit(1))).To(Succeed())
	g.Expect(agentLevel.last.Load()).To(Equal(priorityLevelUID(g, ctx, admin, "meseta-node-work")), "agents' other requests are in meseta-node-work")
	_, _ = kubernetes.NewForConfigOrDie(noisy.config).CoordinationV1().Leases("team-a").Get(ctx, "noisy", metav1.GetOptions{})
	g.Expect(noisyLevel.last.Load()).To(Equal(priorityLevelUID(g, ctx, admin, "meseta-framework-heartbeats")),
		"a framework's Lease is apart from its other requests")
	_, _ = leases.Get(ctx, "node-a", metav1.GetOptions{})

	own := flood(ctx, noisy.config, leases)
	t.Logf("agent in its own priority level (meseta-node-high): %s", own)

	// For comparison, with the same ballast: the agent's traffic in the
	// framework's level.
	g.Expect(admin.DeleteAllOf(ctx, &mesetav1alpha1.Task{}, client.InNamespace("team-a"), client.MatchingLabels{"flood": "yes"})).To(Succeed())
	shared := &flowcontrolv1.FlowSchema{
		ObjectMeta: metav1.ObjectMeta{Name: "test-agents-with-frameworks"},
		Spec: flowcontrolv1.FlowSchemaSpec{
			PriorityLevelConfiguration: flowcontrolv1.PriorityLevelConfigurationReference{Name: "meseta-frameworks"},
			MatchingPrecedence:         100,
			DistinguisherMethod:        &flowcontrolv1.FlowDistinguisherMethod{Type: flowcontrolv1.FlowDistinguisherMethodByUserType},
			Rules: []flowcontrolv1.PolicyRulesWithSubjects{{
				Subjects: []flowcontrolv1.Subject{{Kind: flowcontrolv1.SubjectKindGroup, Group: &flowcontrolv1.GroupSubject{Name: security.NodesGroup}}},
				ResourceRules: []flowcontrolv1.ResourcePolicyRule{{
					Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, Namespaces: []string{"*"}, ClusterScope: true,
				}},
			}},
		},
	}
	g.Expect(admin.Create(ctx, shared)).To(Succeed())
	g.Eventually(func() any {
		_, _ = leases.Get(ctx, "node-a", metav1.GetOptions{})
		return agentLevel.last.Load()
	}).WithTimeout(policyWait).Should(Equal(frameworksLevel))
	together := flood(ctx, noisy.config, leases)
	t.Logf("agent sharing the framework's priority level: %s", together)

	g.Expect(own.renewFailures).To(BeZero(), "every renewal succeeds")
	g.Expect(own.maxGap).To(BeNumerically("<", leaseDuration), "the Lease never expires")
	g.Expect(own.floodOK).To(BeNumerically(">", 0), "the flood did run")
}

// priorityLevelRecorder remembers the priority level the API server put the
// last request of a client in (response header X-Kubernetes-PF-PriorityLevel-UID).
type priorityLevelRecorder struct {
	next http.RoundTripper
	last atomic.Value
}

func (r *priorityLevelRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		r.last.Store(resp.Header.Get("X-Kubernetes-PF-PriorityLevel-UID"))
	}
	return resp, err
}

// recordPriorityLevel makes cfg's clients record their priority level.
func recordPriorityLevel(cfg *rest.Config) *priorityLevelRecorder {
	r := &priorityLevelRecorder{}
	r.last.Store("")
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { r.next = rt; return r }
	return r
}

// priorityLevelUID returns the UID of a PriorityLevelConfiguration.
func priorityLevelUID(g Gomega, ctx context.Context, c client.Client, name string) string {
	pl := &flowcontrolv1.PriorityLevelConfiguration{}
	g.Expect(c.Get(ctx, client.ObjectKey{Name: name}, pl)).To(Succeed())
	return string(pl.UID)
}

// flood runs the noisy framework against the API for floodFor while renewing the
// agent's Lease, and returns what it measured. The flood's responses are read
// and dropped undecoded, so that the test process spends its CPU on requests,
// as a framework on another machine would, and the API server does the work.
func flood(ctx context.Context, noisy *rest.Config, leases coordinationclient.LeaseInterface) floodResult {
	ctx, cancel := context.WithTimeout(ctx, floodFor)
	defer cancel()
	httpClient, err := rest.HTTPClientFor(noisy)
	if err != nil {
		panic(err)
	}
	url := noisy.Host + "/apis/meseta.dev/v1alpha1/namespaces/team-a/tasks"
	task := testTask("team-a", "", "", "offer-a")
	task.APIVersion, task.Kind = mesetav1alpha1.GroupVersion.String(), "Task"
	task.GenerateName = "flood-"
	task.Labels = map[string]string{"flood": "yes"}
	body, err := json.Marshal(task)
	if err != nil {
		panic(err)
	}
	var res floodResult
	var wg sync.WaitGroup
	for w := range floodWorkers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if (w+i)%2 == 1 {
					req, _ = http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := httpClient.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						atomic.AddInt64(&res.floodErr, 1)
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode < 300:
					atomic.AddInt64(&res.floodOK, 1)
				case resp.StatusCode == http.StatusTooManyRequests:
					atomic.AddInt64(&res.flood429, 1)
				default:
					atomic.AddInt64(&res.floodErr, 1)
				}
			}
		})
	}
	last := time.Now()
	ticker := time.NewTicker(renewEvery)
	defer ticker.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-ticker.C:
			start := time.Now()
			err := renew(context.WithoutCancel(ctx), leases)
			took := time.Since(start)
			if err != nil {
				res.renewFailures++
				continue
			}
			res.renewals = append(res.renewals, took)
			res.maxGap = max(res.maxGap, time.Since(last))
			last = time.Now()
		}
	}
	wg.Wait()
	return res
}

// renew renews the agent's Lease as an agent does: read, set renewTime, update.
func renew(ctx context.Context, leases coordinationclient.LeaseInterface) error {
	ctx, cancel := context.WithTimeout(ctx, leaseDuration)
	defer cancel()
	l, err := leases.Get(ctx, "node-a", metav1.GetOptions{})
	if err != nil {
		return err
	}
	l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}
