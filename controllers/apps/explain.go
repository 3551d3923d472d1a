package apps

import (
	"fmt"
	"strings"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
	"meseta.dev/meseta/pkg/sdk"
)

// nodeOffer is what the framework last saw offered of one node.
type nodeOffer struct {
	node       string
	attributes map[string]string
	free       resources.Vector
}

func (n nodeOffer) placement() sdk.Placement {
	return sdk.Placement{Node: n.node, Attributes: n.attributes}
}

// unplaced is an App's instances that found no node in the last offers.
type unplaced struct {
	// waiting is how many instances were not placed.
	waiting int
	// resources are what each needs; constraints where it may go.
	resources   v1alpha1.Resources
	constraints []v1alpha1.Constraint
	// placed are the nodes of the App's tasks that exist.
	placed []sdk.Placement
	// nodes are the nodes recently offered, sorted by name.
	nodes []nodeOffer
}

// explanation says, for people, why instances are not placed: a condition
// reason and a message.
type explanation struct {
	reason, message string
}

// explain says why u's instances found no node. The reasons are checked in
// order: no offers at all; a constraint no offered node keeps (counting
// values for UNIQUE and MAX_PER); no offered node that keeps the constraints
// has the resources (naming the largest offer of each short resource);
// otherwise the instances only wait for their turn.
func explain(u unplaced) explanation {
	if len(u.nodes) == 0 {
		return explanation{v1alpha1.AppWaitingForOffersReason,
			fmt.Sprintf("no offers: %s %s offers and none were received", instancesWord(u.waiting), verb(u.waiting, "waits for", "wait for"))}
	}
	var feasible []nodeOffer
	for _, n := range u.nodes {
		if sdk.Satisfies(u.constraints, n.placement(), u.placed) == nil {
			feasible = append(feasible, n)
		}
	}
	if len(feasible) == 0 {
		return explanation{v1alpha1.AppConstraintNotMetReason, constraintMessage(u)}
	}
	want, err := resources.FromAPI(u.resources)
	if err != nil {
		return explanation{v1alpha1.AppNoOfferFitsReason, "no offer fits: template.resources." + err.Error()}
	}
	for _, n := range feasible {
		if want.Fits(n.free) {
			return explanation{v1alpha1.AppWaitingForOffersReason,
				fmt.Sprintf("waiting for offers: %s not placed yet; node %s had room in its last offer", instancesWord(u.waiting), n.node)}
		}
	}
	return explanation{v1alpha1.AppNoOfferFitsReason, noFitMessage(u.waiting, want, feasible)}
}

// constraintMessage names the first constraint that no offered node keeps:
// "constraint [hostname, UNIQUE] cannot be met: 3 instances, 2 nodes".
func constraintMessage(u unplaced) string {
	total := len(u.placed) + u.waiting
	for _, c := range u.constraints {
		var reasons []string
		for _, n := range u.nodes {
			if err := sdk.Satisfies([]v1alpha1.Constraint{c}, n.placement(), u.placed); err != nil {
				reasons = append(reasons, strings.TrimPrefix(err.Error(), formatConstraint(c)+": "))
			}
		}
		if len(reasons) < len(u.nodes) {
			continue // some node keeps c
		}
		prefix := "constraint " + formatConstraint(c) + " cannot be met: "
		values := distinctValues(c[0], u.placed, u.nodes)
		switch c[1] {
		case v1alpha1.ConstraintUnique:
			return prefix + fmt.Sprintf("%s, %s", instancesWord(total), valuesWord(c[0], values))
		case v1alpha1.ConstraintMaxPer:
			return prefix + fmt.Sprintf("%s, at most %s on each of %s", instancesWord(total), c[2], valuesWord(c[0], values))
		}
		return prefix + summarize(reasons)
	}
	var reasons []string
	for _, n := range u.nodes {
		if err := sdk.Satisfies(u.constraints, n.placement(), u.placed); err != nil {
			reasons = append(reasons, n.node+": "+err.Error())
		}
	}
	return "constraints cannot be met together: " + summarize(reasons)
}

// noFitMessage says which resources no offer holds enough of: "no offer
// fits: 2 instances need cpus 4 but the largest offer has cpus 1.5 (node
// n1)"; or, when each resource is offered somewhere but no node has them all,
// what each node is short of.
func noFitMessage(waiting int, want resources.Vector, nodes []nodeOffer) string {
	var short, largest []string
	for _, name := range resources.Names {
		w := want.Get(name)
		if w == 0 {
			continue
		}
		best := nodes[0]
		for _, n := range nodes[1:] {
			if n.free.Get(name) > best.free.Get(name) {
				best = n
			}
		}
		if have := best.free.Get(name); have < w {
			short = append(short, name.String()+" "+resources.FormatScalar(name, w))
			largest = append(largest, fmt.Sprintf("%s %s (node %s)", name, resources.FormatScalar(name, have), best.node))
		}
	}
	portsShort := len(want.Ports) > 0
	for _, n := range nodes {
		if n.free.Ports.Contains(want.Ports) {
			portsShort = false
		}
	}
	if portsShort {
		short = append(short, "ports "+want.Ports.String())
	}
	head := fmt.Sprintf("no offer fits: %s %s ", instancesWord(waiting), verb(waiting, "needs", "need"))
	switch {
	case len(largest) > 0:
		msg := head + strings.Join(short, ", ") + " but the largest " + verb(len(largest), "offer has ", "offers have ") + strings.Join(largest, ", ")
		if portsShort {
			msg += ", and no offer has those ports"
		}
		return msg
	case portsShort:
		return head + strings.Join(short, ", ") + " but no offer has those ports"
	}
	var per []string
	for _, n := range nodes {
		per = append(per, fmt.Sprintf("node %s is short of %s", n.node, n.free.Shortfall(want)))
	}
	return head + want.String() + " each; " + summarize(per)
}

// distinctValues counts the distinct values of field among the placed and
// offered nodes.
func distinctValues(field string, placed []sdk.Placement, nodes []nodeOffer) int {
	seen := map[string]bool{}
	for _, p := range placed {
		if v, ok := p.Value(field); ok {
			seen[v] = true
		}
	}
	for _, n := range nodes {
		if v, ok := n.placement().Value(field); ok {
			seen[v] = true
		}
	}
	return len(seen)
}

// valuesWord is "2 nodes" for hostname, else "2 values of rack".
func valuesWord(field string, n int) string {
	if field == sdk.FieldHostname {
		return verb(n, "1 node", fmt.Sprintf("%d nodes", n))
	}
	return fmt.Sprintf("%d %s of %s", n, verb(n, "value", "values"), field)
}

// instancesWord is "1 instance" or "3 instances".
func instancesWord(n int) string {
	return fmt.Sprintf("%d %s", n, verb(n, "instance", "instances"))
}

// verb returns one for a count of one, else many.
func verb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// formatConstraint writes c as in YAML flow style: "[rack, CLUSTER, r1]".
func formatConstraint(c v1alpha1.Constraint) string {
	return "[" + strings.Join(c, ", ") + "]"
}

// summarize joins reasons, at most three of them.
func summarize(reasons []string) string {
	const most = 3
	if len(reasons) <= most {
		return strings.Join(reasons, "; ")
	}
	return strings.Join(reasons[:most], "; ") + fmt.Sprintf("; and %d more", len(reasons)-most)
}
