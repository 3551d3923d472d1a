package allocator

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/resources"
)

// Explanation says what a cycle did for one framework and, node by node, why
// it got no offer: for each node the first reason met, counted by reason.
type Explanation struct {
	// Framework is the framework's key.
	Framework types.NamespacedName
	// Role is the framework's effective role.
	Role string
	// Nodes is the number of nodes in the snapshot.
	Nodes int
	// Offers is the number of nodes offered to the framework this cycle.
	Offers int
	// Skips are the reasons for the other nodes, most frequent first. Their
	// counts add up to Nodes minus Offers, except that a node where a role
	// reached its limit after another framework of the role got an offer there
	// counts under the limit.
	Skips []Skip
}

// Skip is one reason a framework got no offer on some nodes.
type Skip struct {
	// Reason is why.
	Reason Reason
	// Count is the number of nodes.
	Count int
	// Nodes names a few of them; empty for reasons that are not node by node
	// (ReasonInactive, ReasonSuppressed, ReasonOfferedToOthers).
	Nodes []string
	// Message says it for people, with the details of the first node: "declined
	// until 2026-11-23T07:20:00Z", "role eng quota limit reached: cpus (0 < 0.01)".
	Message string
}

// Explain tells why the framework got the offers it got and no others, and false
// when the snapshot has no such framework. It is computed on demand from
// counters the cycle kept, so it is cheap to keep a Plan around and costs
// nothing unless asked.
func (p *Plan) Explain(key types.NamespacedName) (Explanation, bool) {
	i, ok := p.fwIdx[key]
	if !ok {
		return Explanation{}, false
	}
	f, st := &p.s.Frameworks[i], &p.fws[i]
	e := Explanation{Framework: key, Role: f.EffectiveRole(), Nodes: p.nodes, Offers: int(st.offers)}
	rest := p.nodes - e.Offers
	// add adds a skip; sampled says whether l holds node examples.
	add := func(r Reason, l *skipLog, sampled bool) {
		if l.count <= 0 {
			return
		}
		s := Skip{Reason: r, Count: int(l.count), Message: message(r, l)}
		for _, n := range l.sample[:min(int(l.count), sampleSize)] {
			if !sampled {
				break
			}
			s.Nodes = append(s.Nodes, p.s.Nodes[n].Name)
		}
		e.Skips = append(e.Skips, s)
		rest -= s.Count
	}
	for r := range numReasons {
		add(r, &p.nodeAgg[r], true)
	}
	if st.level != ReasonNone {
		add(st.level, &skipLog{count: int32(rest)}, false)
	} else {
		for k := range numPairReasons {
			add(pairReasonOf[k], &st.skips[k], true)
		}
		for r := st.role; r != nil; r = r.parent {
			add(ReasonLimitReached, &r.limitSkip, true)
		}
		add(ReasonOfferedToOthers, &skipLog{count: int32(rest)}, false)
	}
	sortSkips(e.Skips)
	return e, true
}

func sortSkips(s []Skip) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Count > s[j-1].Count; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// message says a reason for people, with the details in l.
func message(r Reason, l *skipLog) string {
	switch r {
	case ReasonNodeNotReady:
		return "node not ready"
	case ReasonNodeUnschedulable:
		return "node cordoned"
	case ReasonBelowMinimum:
		return "free resources below minimum: " + l.deficit.String()
	case ReasonInactive:
		return "framework inactive"
	case ReasonSuppressed:
		return "framework suppressed"
	case ReasonDeclined:
		return "declined until " + time.Unix(0, l.until).UTC().Format(time.RFC3339)
	case ReasonLimitReached:
		role := ""
		if l.role != nil {
			role = " " + strconv.Quote(l.role.name)
		}
		d := l.deficit
		return fmt.Sprintf("role%s quota limit reached: %s (%s left < %s)", role, d.Name,
			resources.FormatScalar(d.Name, d.Have), resources.FormatScalar(d.Name, d.Want))
	case ReasonNoGPUCapability:
		return "node has GPUs, which are kept for frameworks with the GPUResources capability"
	case ReasonOfferedToOthers:
		return "offered to frameworks ahead in fair-share order"
	}
	return r.String()
}

// String returns the explanation on several lines:
//
//	team-a/analytics (role team-a): offers on 3 of 10 nodes
//	  5 nodes: declined until 2026-11-23T07:20:00Z (node-1, node-2, ...)
func (e Explanation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (role %s): offers on %d of %d nodes", e.Framework, e.Role, e.Offers, e.Nodes)
	for _, s := range e.Skips {
		fmt.Fprintf(&b, "\n  %d %s: %s", s.Count, plural(s.Count, "node", "nodes"), s.Message)
		if len(s.Nodes) == 0 {
			continue
		}
		fmt.Fprintf(&b, " (%s", strings.Join(s.Nodes, ", "))
		if s.Count > len(s.Nodes) {
			b.WriteString(", ...")
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Summary returns one line for a condition message, the most frequent reasons
// first: "no offers (5 nodes: declined until ...; 2 nodes: node cordoned)".
func (e Explanation) Summary() string {
	var b strings.Builder
	if e.Offers == 0 {
		b.WriteString("no offers")
	} else {
		fmt.Fprintf(&b, "offers on %d of %d nodes", e.Offers, e.Nodes)
	}
	for i, s := range e.Skips {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d %s: %s", s.Count, plural(s.Count, "node", "nodes"), s.Message)
	}
	if len(e.Skips) > 0 {
		b.WriteByte(')')
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
