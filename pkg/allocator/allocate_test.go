package allocator_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/pkg/allocator"
	"meseta.dev/meseta/pkg/resources"
)

// TestDRFOrder checks who is offered first, and how a cycle shares nodes out.
func TestDRFOrder(t *testing.T) {
	tests := []struct {
		name     string
		snapshot allocator.Snapshot
		// sequence is the frameworks in offer order, or counts the number of
		// offers per framework.
		sequence []string
		counts   map[string]int
	}{
		{
			name: "lowest dominant share first",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 1, "cpus:4;mem:16Gi"),
				Total: res("cpus:100;mem:400Gi"),
				Frameworks: []allocator.Framework{
					fw("a/big", "a", holding("cpus:10")),    // share 0.1
					fw("b/small", "b", holding("mem:20Gi")), // share 0.05
				},
			},
			sequence: []string{"b/small"},
		},
		{
			name: "dominant resource decides, not the sum",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 1, "cpus:4;mem:16Gi"),
				Total: res("cpus:100;mem:400Gi"),
				Frameworks: []allocator.Framework{
					fw("a/cpu", "a", holding("cpus:6;mem:4Gi")),  // 0.06 vs 0.01: share 0.06
					fw("b/mem", "b", holding("cpus:1;mem:28Gi")), // 0.01 vs 0.07: share 0.07
				},
			},
			sequence: []string{"a/cpu"},
		},
		{
			name: "weight divides the share",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 1, "cpus:4;mem:16Gi"),
				Total: res("cpus:100;mem:400Gi"),
				Roles: []allocator.Role{{Name: "heavy", Weight: 2}},
				Frameworks: []allocator.Framework{
					fw("x/light", "light", holding("cpus:15")), // 0.15
					fw("y/heavy", "heavy", holding("cpus:20")), // 0.2 / 2 = 0.1
				},
			},
			sequence: []string{"y/heavy"},
		},
		{
			name: "equal shares alternate within a cycle",
			snapshot: allocator.Snapshot{
				Nodes:      nodes("n", 4, "cpus:4;mem:16Gi"),
				Frameworks: []allocator.Framework{fw("a/one", "r"), fw("a/two", "r")},
			},
			sequence: []string{"a/one", "a/two", "a/one", "a/two"},
		},
		{
			name: "weights 2:1 share six nodes 4:2",
			snapshot: allocator.Snapshot{
				Nodes:      nodes("n", 6, "cpus:4;mem:16Gi"),
				Roles:      []allocator.Role{{Name: "a", Weight: 2}, {Name: "b", Weight: 1}},
				Frameworks: []allocator.Framework{fw("a/fw", "a"), fw("b/fw", "b")},
			},
			counts: map[string]int{"a/fw": 4, "b/fw": 2},
		},
		{
			name: "frameworks within a role by their own share",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 2, "cpus:4;mem:16Gi"),
				Total: res("cpus:100;mem:400Gi"),
				Frameworks: []allocator.Framework{
					fw("a/rich", "r", holding("cpus:20")),
					fw("a/poor", "r", holding("cpus:1")),
					fw("b/other", "s", holding("cpus:22")),
				},
			},
			// Role r (0.21) goes before role s (0.22), and within r the poorer
			// framework; then r holds 0.25 and s is ahead.
			sequence: []string{"a/poor", "b/other"},
		},
		{
			name: "siblings share first, then children",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 4, "cpus:4;mem:16Gi"),
				Frameworks: []allocator.Framework{
					fw("e/web", "eng.web"), fw("e/batch", "eng.batch"), fw("e/ml", "eng.ml"),
					fw("o/ops", "ops"),
				},
			},
			// eng and ops alternate; within eng, its children take turns.
			counts: map[string]int{"o/ops": 2, "e/batch": 1, "e/ml": 1},
		},
		{
			name: "a role's own frameworks compete with its children as one",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 4, "cpus:4;mem:16Gi"),
				Frameworks: []allocator.Framework{
					fw("e/own1", "eng"), fw("e/own2", "eng"), fw("e/own3", "eng"),
					fw("e/child", "eng.child"),
				},
			},
			counts: map[string]int{"e/child": 2, "e/own1": 1, "e/own2": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			tt.snapshot.Now = now
			p := allocator.Allocate(&tt.snapshot)
			if tt.sequence != nil {
				g.Expect(offerSequence(p)).To(Equal(tt.sequence), "offers: %v", offerList(p))
			}
			if tt.counts != nil {
				g.Expect(offerCounts(p)).To(Equal(tt.counts), "offers: %v", offerList(p))
			}
		})
	}
}

// TestGuaranteesAndLimits checks the guarantee phase and quota limits, flat
// and nested.
func TestGuaranteesAndLimits(t *testing.T) {
	tests := []struct {
		name     string
		snapshot allocator.Snapshot
		offers   []string // sorted "fw@node: resources"
	}{
		{
			name: "a role below its guarantee goes first, up to the guarantee",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 2, "cpus:4;mem:8Gi"),
				Total: res("cpus:100;mem:400Gi"),
				Roles: []allocator.Role{{Name: "g", Guarantee: res("cpus:12")}},
				Frameworks: []allocator.Framework{
					fw("g/fw", "g", holding("cpus:10")), // share 0.1, lacks 2 cpus
					fw("h/fw", "h"),                     // share 0
				},
			},
			offers: []string{
				// Shuffled node order: the guarantee phase took n-1 first.
				"g/fw@n-1: cpus 2, mem 8Gi",
				"h/fw@n-0: cpus 4, mem 8Gi",
			},
		},
		{
			name: "without the guarantee the lower share wins both nodes",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 2, "cpus:4;mem:8Gi"),
				Total: res("cpus:100;mem:400Gi"),
				Frameworks: []allocator.Framework{
					fw("g/fw", "g", holding("cpus:10")),
					fw("h/fw", "h"),
				},
			},
			offers: []string{"h/fw@n-0: cpus 4, mem 8Gi", "h/fw@n-1: cpus 4, mem 8Gi"},
		},
		{
			name: "the guarantee phase offers only what helps the guarantee",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 2, "cpus:4;mem:8Gi"),
				Total: res("cpus:100;mem:400Gi;gpus:8"),
				Roles: []allocator.Role{{Name: "g", Guarantee: res("gpus:1")}},
				Frameworks: []allocator.Framework{
					fw("g/fw", "g", holding("cpus:10"), gpuCapable),
					fw("h/fw", "h"),
				},
			},
			offers: []string{"h/fw@n-0: cpus 4, mem 8Gi", "h/fw@n-1: cpus 4, mem 8Gi"},
		},
		{
			name: "a met guarantee gives no priority",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 1, "cpus:4;mem:8Gi"),
				Total: res("cpus:100;mem:400Gi"),
				Roles: []allocator.Role{{Name: "g", Guarantee: res("cpus:10")}},
				Frameworks: []allocator.Framework{
					fw("g/fw", "g", holding("cpus:10")),
					fw("h/fw", "h", holding("cpus:5")),
				},
			},
			offers: []string{"h/fw@n-0: cpus 4, mem 8Gi"},
		},
		{
			name: "a child's guarantee is met before its parent's siblings",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 1, "cpus:4;mem:8Gi"),
				Total: res("cpus:100;mem:400Gi"),
				Roles: []allocator.Role{{Name: "eng.db", Guarantee: res("cpus:21")}},
				Frameworks: []allocator.Framework{
					fw("e/db", "eng.db", holding("cpus:20")),
					fw("o/fw", "ops"),
				},
			},
			offers: []string{"e/db@n-0: cpus 1, mem 8Gi"},
		},
		{
			name: "an offer is cut to the limit and the rest goes to the next framework",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 1, "cpus:8;mem:16Gi"),
				Roles: []allocator.Role{{Name: "l", Limit: limits("cpus:2;mem:4Gi")}},
				Frameworks: []allocator.Framework{
					fw("l/fw", "l"),
					fw("m/fw", "m", holding("cpus:1")),
				},
			},
			offers: []string{"l/fw@n-0: cpus 2, mem 4Gi", "m/fw@n-0: cpus 6, mem 12Gi"},
		},
		{
			name: "a role at its limit gets nothing",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 2, "cpus:8;mem:16Gi"),
				Roles: []allocator.Role{{Name: "l", Limit: limits("cpus:4")}},
				Frameworks: []allocator.Framework{
					fw("l/fw", "l", holding("cpus:4")),
					fw("m/fw", "m", holding("cpus:6")),
				},
			},
			offers: []string{"m/fw@n-0: cpus 8, mem 16Gi", "m/fw@n-1: cpus 8, mem 16Gi"},
		},
		{
			name: "outstanding offers count against the limit",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 1, "cpus:8;mem:16Gi"),
				Roles: []allocator.Role{{Name: "l", Limit: limits("cpus:4")}},
				Frameworks: []allocator.Framework{
					fw("l/fw", "l", holding("cpus:1"), func(f *allocator.Framework) { f.Offered = res("cpus:2") }),
				},
			},
			offers: []string{"l/fw@n-0: cpus 1, mem 16Gi"},
		},
		{
			name: "a parent's limit bounds its children together",
			snapshot: allocator.Snapshot{
				Nodes:      nodes("n", 3, "cpus:3;mem:8Gi"),
				Roles:      []allocator.Role{{Name: "eng", Limit: limits("cpus:4")}},
				Frameworks: []allocator.Framework{fw("e/a", "eng.a"), fw("e/b", "eng.b")},
			},
			offers: []string{"e/a@n-2: cpus 3, mem 8Gi", "e/b@n-0: cpus 1, mem 8Gi"},
		},
		{
			name: "a limit on a resource outside the minimum leaves it out of offers",
			snapshot: allocator.Snapshot{
				Nodes:      nodes("n", 1, "cpus:2;mem:4Gi;disk:100Gi"),
				Roles:      []allocator.Role{{Name: "l", Limit: limits("disk:0")}},
				Frameworks: []allocator.Framework{fw("l/fw", "l")},
			},
			offers: []string{"l/fw@n-0: cpus 2, mem 4Gi"},
		},
		{
			name: "a role over its limit (limit lowered) gets none of that resource",
			snapshot: allocator.Snapshot{
				Nodes:      nodes("n", 1, "cpus:2;mem:4Gi;disk:100Gi"),
				Roles:      []allocator.Role{{Name: "l", Limit: limits("disk:1Gi")}},
				Frameworks: []allocator.Framework{fw("l/fw", "l", holding("disk:5Gi"))},
			},
			offers: []string{"l/fw@n-0: cpus 2, mem 4Gi"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			tt.snapshot.Now = now
			tt.snapshot.Seed = 7
			p := allocator.Allocate(&tt.snapshot)
			g.Expect(sortedOffers(p)).To(Equal(tt.offers), "in order: %v", offerList(p))
		})
	}
}

// TestSkips checks every reason a framework or node is skipped, with its
// message.
func TestSkips(t *testing.T) {
	tests := []struct {
		name      string
		snapshot  allocator.Snapshot
		offers    []string
		nodeSkips []allocator.NodeSkip
		explain   string // the framework "a/fw", as Explanation.String
	}{
		{
			name: "suppressed and inactive frameworks get nothing",
			snapshot: allocator.Snapshot{
				Nodes:      nodes("n", 2, "cpus:4;mem:8Gi"),
				Frameworks: []allocator.Framework{fw("a/fw", "a", suppressed), fw("b/fw", "b", inactive), fw("c/fw", "c")},
			},
			offers: []string{"c/fw@n-0: cpus 4, mem 8Gi", "c/fw@n-1: cpus 4, mem 8Gi"},
			explain: "a/fw (role a): offers on 0 of 2 nodes\n" +
				"  2 nodes: framework suppressed",
		},
		{
			name: "inactive wins over suppressed",
			snapshot: allocator.Snapshot{
				Nodes:      nodes("n", 1, "cpus:4;mem:8Gi"),
				Frameworks: []allocator.Framework{fw("a/fw", "a", suppressed, inactive)},
			},
			explain: "a/fw (role a): offers on 0 of 1 nodes\n" +
				"  1 node: framework inactive",
		},
		{
			name: "not ready and cordoned nodes",
			snapshot: allocator.Snapshot{
				Nodes: []allocator.Node{
					node("down", "cpus:4;mem:8Gi", notReady),
					node("off", "cpus:4;mem:8Gi", cordoned),
					node("up", "cpus:4;mem:8Gi"),
				},
				Frameworks: []allocator.Framework{fw("a/fw", "a")},
			},
			offers: []string{"a/fw@up: cpus 4, mem 8Gi"},
			nodeSkips: []allocator.NodeSkip{
				{Node: "down", Reason: allocator.ReasonNodeNotReady, Message: "node not ready"},
				{Node: "off", Reason: allocator.ReasonNodeUnschedulable, Message: "node cordoned"},
			},
			explain: "a/fw (role a): offers on 1 of 3 nodes\n" +
				"  1 node: node not ready (down)\n" +
				"  1 node: node cordoned (off)",
		},
		{
			name: "free resources below the minimum",
			snapshot: allocator.Snapshot{
				Nodes: []allocator.Node{
					node("full", "cpus:4;mem:8Gi", allocated("cpus:2;mem:8182Mi")),
					node("busy", "cpus:4;mem:8Gi", allocated("cpus:4"), offered("mem:1Gi")),
					node("empty", ""),
				},
				Frameworks: []allocator.Framework{fw("a/fw", "a")},
			},
			nodeSkips: []allocator.NodeSkip{
				{Node: "full", Reason: allocator.ReasonBelowMinimum, Message: "free resources below minimum: mem 10Mi < 32Mi"},
				{Node: "busy", Reason: allocator.ReasonBelowMinimum, Message: "free resources below minimum: cpus 0 < 0.01"},
				{Node: "empty", Reason: allocator.ReasonBelowMinimum, Message: "free resources below minimum: cpus 0 < 0.01"},
			},
			explain: "a/fw (role a): offers on 0 of 3 nodes\n" +
				"  3 nodes: free resources below minimum: mem 10Mi < 32Mi (full, busy, empty)",
		},
		{
			name: "the snapshot's minimum replaces the default",
			snapshot: allocator.Snapshot{
				Nodes:          []allocator.Node{node("small", "cpus:4;mem:8Gi", allocated("cpus:3.5"))},
				MinAllocatable: ptr(res("cpus:1")),
				Frameworks:     []allocator.Framework{fw("a/fw", "a")},
			},
			nodeSkips: []allocator.NodeSkip{
				{Node: "small", Reason: allocator.ReasonBelowMinimum, Message: "free resources below minimum: cpus 0.5 < 1"},
			},
			explain: "a/fw (role a): offers on 0 of 1 nodes\n" +
				"  1 node: free resources below minimum: cpus 0.5 < 1 (small)",
		},
		{
			name: "a framework's own minimum",
			snapshot: allocator.Snapshot{
				Nodes:      []allocator.Node{node("small", "cpus:1;mem:8Gi"), node("big", "cpus:8;mem:8Gi")},
				Frameworks: []allocator.Framework{fw("a/fw", "a", minimum("cpus:2")), fw("b/fw", "b", holding("cpus:100"))},
			},
			offers: []string{"a/fw@big: cpus 8, mem 8Gi", "b/fw@small: cpus 1, mem 8Gi"},
			explain: "a/fw (role a): offers on 1 of 2 nodes\n" +
				"  1 node: free resources below minimum: cpus 1 < 2 (small)",
		},
		{
			name: "a framework's own minimum may be lower than the snapshot's",
			snapshot: allocator.Snapshot{
				Nodes:      []allocator.Node{node("memless", "cpus:1;mem:1Mi")},
				Frameworks: []allocator.Framework{fw("a/fw", "a", minimum("cpus:0.5"))},
			},
			offers:  []string{"a/fw@memless: cpus 1, mem 1Mi"},
			explain: "a/fw (role a): offers on 1 of 1 nodes",
		},
		{
			name: "declined nodes are filtered until the filter ends",
			snapshot: allocator.Snapshot{
				Nodes: []allocator.Node{node("n1", "cpus:4;mem:8Gi"), node("n2", "cpus:4;mem:8Gi"), node("n3", "cpus:4;mem:8Gi")},
				Frameworks: []allocator.Framework{
					fw("a/fw", "a", declined("n1", 30*time.Second), declined("n2", 0), declined("n3", -time.Second), declined("nowhere", time.Hour)),
				},
			},
			offers: []string{"a/fw@n2: cpus 4, mem 8Gi", "a/fw@n3: cpus 4, mem 8Gi"},
			explain: "a/fw (role a): offers on 2 of 3 nodes\n" +
				"  1 node: declined until 2026-11-23T12:00:30Z (n1)",
		},
		{
			name: "a filtered node goes to the next framework",
			snapshot: allocator.Snapshot{
				Nodes:      []allocator.Node{node("n1", "cpus:4;mem:8Gi")},
				Frameworks: []allocator.Framework{fw("a/fw", "a", declined("n1", time.Minute)), fw("b/fw", "b", holding("cpus:1"))},
			},
			offers: []string{"b/fw@n1: cpus 4, mem 8Gi"},
			explain: "a/fw (role a): offers on 0 of 1 nodes\n" +
				"  1 node: declined until 2026-11-23T12:01:00Z (n1)",
		},
		{
			name: "role limit reached",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 2, "cpus:4;mem:8Gi"),
				Roles: []allocator.Role{{Name: "eng", Limit: limits("cpus:1")}},
				Frameworks: []allocator.Framework{
					fw("a/fw", "eng.a", holding("cpus:1")),
					fw("b/fw", "b", holding("cpus:50")),
				},
			},
			offers: []string{"b/fw@n-0: cpus 4, mem 8Gi", "b/fw@n-1: cpus 4, mem 8Gi"},
			explain: "a/fw (role eng.a): offers on 0 of 2 nodes\n" +
				`  2 nodes: role "eng" quota limit reached: cpus (0 left < 0.01) (n-1, n-0)`,
		},
		{
			name: "a framework's minimum above what the limit leaves",
			snapshot: allocator.Snapshot{
				Nodes: nodes("n", 1, "cpus:4;mem:8Gi"),
				Roles: []allocator.Role{{Name: "a", Limit: limits("cpus:1")}},
				Frameworks: []allocator.Framework{
					fw("a/fw", "a", minimum("cpus:2")),
					fw("a/small", "a", minimum("cpus:0.5"), holding("cpus:0.5")),
				},
			},
			offers: []string{"a/small@n-0: cpus 0.5, mem 8Gi"},
			explain: "a/fw (role a): offers on 0 of 1 nodes\n" +
				`  1 node: role "a" quota limit reached: cpus (0.5 left < 2) (n-0)`,
		},
		{
			name: "GPU nodes are kept for GPU frameworks",
			snapshot: allocator.Snapshot{
				Nodes:      []allocator.Node{node("gpu", "cpus:4;mem:8Gi;gpus:2"), node("plain", "cpus:4;mem:8Gi")},
				Frameworks: []allocator.Framework{fw("a/fw", "a"), fw("b/fw", "b", gpuCapable, holding("cpus:100"))},
			},
			offers: []string{"a/fw@plain: cpus 4, mem 8Gi", "b/fw@gpu: cpus 4, mem 8Gi, gpus 2"},
			explain: "a/fw (role a): offers on 1 of 2 nodes\n" +
				"  1 node: node has GPUs, which are kept for frameworks with the GPUResources capability (gpu)",
		},
		{
			name: "nodes taken by frameworks ahead",
			snapshot: allocator.Snapshot{
				Nodes:      nodes("n", 3, "cpus:4;mem:8Gi"),
				Frameworks: []allocator.Framework{fw("a/fw", "a", holding("cpus:100")), fw("b/fw", "b")},
			},
			offers: []string{"b/fw@n-0: cpus 4, mem 8Gi", "b/fw@n-1: cpus 4, mem 8Gi", "b/fw@n-2: cpus 4, mem 8Gi"},
			explain: "a/fw (role a): offers on 0 of 3 nodes\n" +
				"  3 nodes: offered to frameworks ahead in fair-share order",
		},
		{
			name: "repeated names are ignored",
			snapshot: allocator.Snapshot{
				Nodes:      []allocator.Node{node("n", "cpus:4;mem:8Gi"), node("n", "cpus:4;mem:8Gi")},
				Roles:      []allocator.Role{{Name: "a", Weight: 1}, {Name: "a", Limit: limits("cpus:0")}},
				Frameworks: []allocator.Framework{fw("a/fw", "a"), fw("a/fw", "a")},
			},
			offers:  []string{"a/fw@n: cpus 4, mem 8Gi"},
			explain: "a/fw (role a): offers on 1 of 1 nodes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			tt.snapshot.Now = now
			tt.snapshot.Seed = 3
			p := allocator.Allocate(&tt.snapshot)
			if tt.offers == nil {
				tt.offers = []string{}
			}
			g.Expect(sortedOffers(p)).To(Equal(tt.offers))
			if tt.nodeSkips == nil {
				tt.nodeSkips = []allocator.NodeSkip{}
			}
			g.Expect(p.NodeSkips()).To(Equal(tt.nodeSkips))
			e, ok := p.Explain(key("a/fw"))
			g.Expect(ok).To(BeTrue())
			g.Expect(e.String()).To(MatchRegexp("^" + regexpQuote(tt.explain) + "$"))
		})
	}
}

func ptr[T any](v T) *T { return &v }

// regexpQuote quotes s for a regexp, except that "..." matches anything.
func regexpQuote(s string) string {
	var out []byte
	for i := 0; i < len(s); i++ {
		if i+2 < len(s) && s[i:i+3] == "..." {
			out = append(out, ".*"...)
			i += 2
			continue
		}
		if c := s[i]; strings.ContainsRune(`\.+*?()|[]{}^$`, rune(c)) {
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func TestOfferContents(t *testing.T) {
	g := NewWithT(t)
	s := &allocator.Snapshot{
		Now: now,
		Nodes: []allocator.Node{node("n", "cpus:8;mem:16Gi;disk:100Gi;ports:[31000-31010]",
			allocated("cpus:2;mem:4Gi;ports:[31000-31002]"), offered("cpus:1;ports:[31005]"),
			attrs("rack", "r1", "zone", "a"))},
		Frameworks: []allocator.Framework{fw("a/fw", "")},
	}
	p := allocator.Allocate(s)
	g.Expect(p.Offers).To(HaveLen(1))
	o := p.Offers[0]
	g.Expect(o.Framework).To(Equal(key("a/fw")))
	g.Expect(o.FrameworkIndex).To(Equal(0))
	g.Expect(o.Role).To(Equal("a"), "the namespace is the default role")
	g.Expect(o.Node).To(Equal("n"))
	g.Expect(o.NodeIndex).To(Equal(0))
	g.Expect(o.Resources).To(Equal(res("cpus:5;mem:12Gi;disk:100Gi;ports:[31003-31004,31006-31010]")))
	g.Expect(o.Attributes).To(Equal(map[string]string{"rack": "r1", "zone": "a"}))

	// The offer holds all the disk: the framework's dominant share is 1.
	g.Expect(p.Frameworks).To(Equal([]allocator.FrameworkResult{{Framework: key("a/fw"), Role: "a", Share: 1, Offers: 1}}))
	g.Expect(p.Roles).To(Equal([]allocator.RoleResult{{
		Name: "a", Weight: 1, Share: 1, Consumed: res("cpus:5;mem:12Gi;disk:100Gi"), Frameworks: 1, GuaranteeMet: true,
	}}))
}

func TestRoleResults(t *testing.T) {
	g := NewWithT(t)
	s := &allocator.Snapshot{
		Now:   now,
		Nodes: nodes("n", 2, "cpus:4;mem:8Gi"),
		Roles: []allocator.Role{
			{Name: "eng", Weight: 2, Limit: limits("cpus:4")},
			{Name: "eng.web", Guarantee: res("cpus:6")},
			{Name: "idle", Weight: -1},
		},
		Frameworks: []allocator.Framework{fw("e/web", "eng.web"), fw("e/web2", "eng.web", suppressed, holding("cpus:1"))},
	}
	p := allocator.Allocate(s)
	g.Expect(sortedOffers(p)).To(HaveExactElements(MatchRegexp(`^e/web@n-\d: cpus 3, mem 8Gi$`)))
	g.Expect(p.Roles).To(Equal([]allocator.RoleResult{
		{Name: "eng", Weight: 2, Share: 0.5 / 2, Consumed: res("cpus:4;mem:8Gi"), LimitReached: true, GuaranteeMet: true},
		{Name: "eng.web", Weight: 1, Share: 0.5, Consumed: res("cpus:4;mem:8Gi"), Frameworks: 2},
		{Name: "idle", Weight: 1, GuaranteeMet: true},
	}))
	g.Expect(p.Frameworks[0].Share).To(Equal(0.5))
	g.Expect(p.Frameworks[1].Share).To(Equal(1.0 / 8))
	_, ok := p.Explain(key("no/such"))
	g.Expect(ok).To(BeFalse())
}

func TestDeterminism(t *testing.T) {
	g := NewWithT(t)
	make := func(seed uint64) *allocator.Snapshot {
		return &allocator.Snapshot{Now: now, Seed: seed, Nodes: nodes("n", 50, "cpus:4;mem:8Gi"),
			Frameworks: []allocator.Framework{fw("a/1", "a"), fw("a/2", "a"), fw("b/1", "b")}}
	}
	first := offerList(allocator.Allocate(make(1)))
	for range 5 {
		g.Expect(offerList(allocator.Allocate(make(1)))).To(Equal(first))
	}
	g.Expect(offerList(allocator.Allocate(make(2)))).NotTo(Equal(first), "another seed visits nodes in another order")
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		s       allocator.Snapshot
		wantErr []string
	}{
		{name: "empty"},
		{
			name: "repeats and bad values",
			s: allocator.Snapshot{
				Nodes:      []allocator.Node{node("n", "cpus:1"), node("n", "cpus:1"), {Name: "neg", Allocated: resources.Vector{Mem: -1}}},
				Roles:      []allocator.Role{{Name: "r"}, {Name: "r"}, {Name: "w", Weight: -2}},
				Frameworks: []allocator.Framework{fw("a/b", ""), fw("a/b", ""), fw("a/c", "", holding("cpus:1"), func(f *allocator.Framework) { f.Offered.MilliCPUs = -5 })},
			},
			wantErr: []string{`nodes[1]: name "n" repeated`, "nodes[2]: negative amount", `roles[1]: name "r" repeated`,
				"roles[2].weight: -2 is not a positive number", "frameworks[1]: key a/b repeated", "frameworks[2]: negative amount"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := tt.s.Validate()
			if tt.wantErr == nil {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			for _, w := range tt.wantErr {
				g.Expect(err).To(MatchError(ContainSubstring(w)))
			}
		})
	}
}

func TestExplainSummary(t *testing.T) {
	g := NewWithT(t)
	s := &allocator.Snapshot{Now: now, Seed: 1}
	for i := range 7 {
		s.Nodes = append(s.Nodes, node(fmt.Sprintf("off-%d", i), "cpus:4;mem:8Gi", cordoned))
	}
	s.Nodes = append(s.Nodes, node("n1", "cpus:4;mem:8Gi"), node("n2", "cpus:4;mem:8Gi"), node("n3", "cpus:4;mem:8Gi"))
	s.Frameworks = []allocator.Framework{
		fw("a/fw", "a", declined("n1", time.Minute), declined("n2", time.Minute)),
		fw("b/fw", "b", holding("cpus:100"), declined("n1", time.Minute)),
	}
	p := allocator.Allocate(s)
	e, ok := p.Explain(key("a/fw"))
	g.Expect(ok).To(BeTrue())
	g.Expect(e.Offers).To(Equal(1))
	g.Expect(e.Summary()).To(Equal("offers on 1 of 10 nodes (7 nodes: node cordoned; 2 nodes: declined until 2026-11-23T12:01:00Z)"))
	g.Expect(e.Skips[0].Nodes).To(Equal([]string{"off-0", "off-1", "off-2", "off-3", "off-4"}))
	g.Expect(e.String()).To(ContainSubstring("7 nodes: node cordoned (off-0, off-1, off-2, off-3, off-4, ...)"))

	e, _ = p.Explain(key("b/fw"))
	// n1 is filtered for both, n2 for a only, so b gets n2 and a gets n3.
	g.Expect(e.Summary()).To(Equal("offers on 1 of 10 nodes (7 nodes: node cordoned; 1 node: declined until 2026-11-23T12:01:00Z; 1 node: offered to frameworks ahead in fair-share order)"))

	g.Expect(allocator.ReasonDeclined.String()).To(Equal("Declined"))
	g.Expect(allocator.Reason(200).String()).To(Equal("Unknown"))
}

func TestZeroTimes(t *testing.T) {
	g := NewWithT(t)
	s := &allocator.Snapshot{
		Nodes: nodes("n", 2, "cpus:1;mem:1Gi"),
		Frameworks: []allocator.Framework{fw("a/fw", "a", func(f *allocator.Framework) {
			f.Filters = []allocator.Filter{{Node: "n-0"}, {Node: "n-1", Until: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}}
		})},
	}
	// The zero time is before any other, so with the zero Now a zero Until has
	// passed and year 3000 has not; and as well with a real Now.
	g.Expect(sortedOffers(allocator.Allocate(s))).To(Equal([]string{"a/fw@n-0: cpus 1, mem 1Gi"}))
	s.Now = now
	g.Expect(sortedOffers(allocator.Allocate(s))).To(Equal([]string{"a/fw@n-0: cpus 1, mem 1Gi"}))
}
