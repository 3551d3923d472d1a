package faults

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

// TestBadInput feeds a running cluster bad input through the real kubectl and
// the API: each is refused with an error naming the field (or, for what only
// the master can judge, the task ends with a reason and a message), and the
// work already running is not harmed. It complements the validation tests of
// e2e/ and e2e/integration/, which cover negative cpus, a missing framework
// and bad enums at the API alone.
func TestBadInput(t *testing.T) {
	c := newCluster(t, "bad-input", clusterOptions{agents: threeAgents[:1]})
	c.startKeeper(keeperOptions{name: "keeper", namespace: "default", instances: 2, failover: 10 * time.Minute})
	baseline := c.waitRunning("default", "keeper", 2, 2*time.Minute)
	// The holder keeps the offers it gets outstanding (started second, so that
	// it does not hoard the node before the keeper has its tasks).
	c.startKeeper(keeperOptions{name: "holder", namespace: "default", instances: 0, failover: 10 * time.Minute, hold: true})
	task := func(name, extra string) string {
		return fmt.Sprintf(`apiVersion: meseta.dev/v1alpha1
kind: Task
metadata: {name: %s, namespace: default}
spec:
  framework: keeper
  resources: {cpus: "0.1", mem: 32Mi}
  container: {image: "%s", command: [sleep, "1"]}
%s`, name, c.image(), extra)
	}

	t.Run("refused by the API with the field named", func(t *testing.T) {
		tests := []struct {
			name, manifest string
			want           []string
		}{
			{"malformed YAML", "apiVersion: meseta.dev/v1alpha1\nkind: Task\nmetadata: {name: broken\nspec: [", []string{"yaml"}},
			{"an unknown field", task("typo", "  framwork: keeper\n"), []string{"unknown field", "spec.framwork"}},
			{"negative mem", strings.Replace(task("negmem", "  nodeName: n1\n"), "mem: 32Mi", "mem: -32Mi", 1), []string{"spec.resources.mem"}},
			{"a name too long", task(strings.Repeat("a", 254), ""), []string{"metadata.name", "253"}},
			{"a 10 MB object", "", nil},
		}
		// The 10 MB object: one env value of 10 MiB.
		tests[len(tests)-1].manifest = strings.Replace(task("big", ""), `command: [sleep, "1"]`,
			`command: [sleep, "1"], env: [{name: BLOB, value: "`+strings.Repeat("y", 10<<20)+`"}]`, 1)
		tests[len(tests)-1].want = []string{"too large"}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				g := NewWithT(t)
				out, err := c.kubectl(tt.manifest, "apply", "-f", "-")
				g.Expect(err).To(HaveOccurred(), out)
				if len(out) > 2000 {
					out = out[:2000]
				}
				for _, w := range tt.want {
					g.Expect(strings.ToLower(out)).To(ContainSubstring(strings.ToLower(w)))
				}
			})
		}
	})

	t.Run("judged by the master with a reason and a message", func(t *testing.T) {
		var held v1alpha1.Offer
		NewWithT(t).Eventually(func() bool {
			offers := &v1alpha1.OfferList{}
			_ = c.client().List(t.Context(), offers, client.InNamespace("default"))
			for _, o := range offers.Items {
				if o.Spec.Framework == "holder" && !o.Status.Phase.IsFinal() {
					held = o
					return true
				}
			}
			return false
		}).WithTimeout(time.Minute).Should(BeTrue(), "the holder framework holds an offer")
		tests := []struct {
			name, extra string
			state       v1alpha1.TaskState
			want        []string
		}{
			{"another framework's offer", "  offers: [" + held.Name + "]\n", v1alpha1.TaskDropped, []string{"holder"}},
			{"a node that does not exist", "  nodeName: ghost\n", v1alpha1.TaskError, []string{"ghost"}},
			// The schema takes any quantity; the master refuses amounts past
			// what it can count (pkg/resources.MaxValue).
			{"a huge quantity", "  nodeName: n1\n", v1alpha1.TaskError, []string{"cpus"}},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				g := NewWithT(t)
				name := fmt.Sprintf("judged-%d", i)
				manifest := task(name, tt.extra)
				if tt.name == "a huge quantity" {
					manifest = strings.Replace(manifest, `cpus: "0.1"`, `cpus: "1e18"`, 1)
				}
				c.apply(manifest)
				var got v1alpha1.Task
				g.Eventually(func() bool {
					_ = c.client().Get(t.Context(), client.ObjectKey{Namespace: "default", Name: name}, &got)
					return got.IsTerminal()
				}).WithTimeout(30*time.Second).Should(BeTrue(), "the task ends")
				if tt.state != "" {
					g.Expect(got.Status.State).To(Equal(tt.state))
				}
				t.Logf("%s: %s %s: %s", tt.name, got.Status.State, got.Status.Reason, got.Status.Message)
				for _, w := range tt.want {
					g.Expect(got.Status.Message).To(ContainSubstring(w))
				}
			})
		}
		t.Run("an offer over-accepted", func(t *testing.T) {
			g := NewWithT(t)
			held = v1alpha1.Offer{}
			g.Eventually(func() bool {
				offers := &v1alpha1.OfferList{}
				_ = c.client().List(t.Context(), offers, client.InNamespace("default"))
				for _, o := range offers.Items {
					if o.Spec.Framework == "holder" && !o.Status.Phase.IsFinal() {
						held = o
						return true
					}
				}
				return false
			}).WithTimeout(time.Minute).Should(BeTrue())
			over := strings.Replace(task("over", "  offers: ["+held.Name+"]\n"), "framework: keeper", "framework: holder", 1)
			over = strings.Replace(over, `cpus: "0.1"`, `cpus: "64"`, 1)
			c.apply(over)
			var got v1alpha1.Task
			g.Eventually(func() v1alpha1.TaskState {
				_ = c.client().Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "over"}, &got)
				return got.Status.State
			}).WithTimeout(30 * time.Second).Should(Equal(v1alpha1.TaskDropped))
			g.Expect(got.Status.Reason).To(Equal(v1alpha1.ReasonInvalidOffers))
			g.Expect(got.Status.Message).To(ContainSubstring("cpus"))
			t.Logf("over-accepted: %s", got.Status.Message)
		})
	})

	t.Run("a flood of 1,000 creates", func(t *testing.T) {
		g := NewWithT(t)
		out, err := c.kubectl("", "create", "namespace", "flood")
		g.Expect(err).NotTo(HaveOccurred(), out)
		var created, throttled atomic.Int32
		var other sync.Map
		start := time.Now()
		cfg := c.restConfig(c.current)
		cfg.QPS = -1 // no client-side throttling: the flood reaches the server
		flood, err := client.New(cfg, client.Options{Scheme: c.client().Scheme()})
		g.Expect(err).NotTo(HaveOccurred())
		var wg sync.WaitGroup
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		for w := range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < 1000; i += 50 {
					fw := &v1alpha1.Framework{}
					fw.Namespace, fw.Name = "flood", fmt.Sprintf("fw-%04d", i)
					switch err := flood.Create(ctx, fw); {
					case err == nil:
						created.Add(1)
					case apierrors.IsTooManyRequests(err):
						throttled.Add(1)
					default:
						other.Store(fw.Name, err.Error())
					}
				}
			}()
		}
		wg.Wait()
		c.fig.log("flood-1000-creates", time.Since(start))
		c.fig.count("flood-created", int(created.Load()))
		c.fig.count("flood-throttled", int(throttled.Load()))
		other.Range(func(k, v any) bool { t.Errorf("create %s: %s", k, v); return true })
		list := &v1alpha1.FrameworkList{}
		g.Expect(c.client().List(t.Context(), list, client.InNamespace("flood"))).To(Succeed())
		g.Expect(list.Items).To(HaveLen(int(created.Load())), "every create that succeeded is stored")
	})

	// The work that ran before is untouched.
	for _, k := range c.waitRunning("default", "keeper", 2, time.Minute) {
		NewWithT(t).Expect(uids(baseline)).To(HaveKey(k.UID))
	}
	c.checkHistory(time.Minute)
}
