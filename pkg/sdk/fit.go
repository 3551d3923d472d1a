package sdk

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
)

// Fits reports whether offer holds the resources r (every amount, and every
// port r names). Resources that cannot be read do not fit.
func Fits(offer *v1alpha1.Offer, r v1alpha1.Resources) bool {
	have, err := resources.FromAPI(offer.Spec.Resources)
	if err != nil {
		return false
	}
	want, err := resources.FromAPI(r)
	if err != nil {
		return false
	}
	return want.Fits(have)
}

// NodeOffers are the outstanding offers of one node to a framework, with the
// resources they have left after the tasks placed on them so far. Place tasks
// with Add, then turn the result into a Launch (Decisions). It is a value the
// scheduler owns: nothing is sent to the API until it returns the decisions.
type NodeOffers struct {
	// Node is the name of the node.
	Node string
	// Attributes are the node's attributes (from its offers).
	Attributes map[string]string
	// Offers are the names of the node's offers, sorted.
	Offers []string
	// Free is what the offers have left.
	Free resources.Vector
	// Tasks are the tasks placed so far.
	Tasks []v1alpha1.Task
}

// GroupByNode returns the offers grouped by node, sorted by node name. Offers
// with unreadable resources are left out.
func GroupByNode(offers []v1alpha1.Offer) []*NodeOffers {
	byNode := map[string]*NodeOffers{}
	for i := range offers {
		o := &offers[i]
		v, err := resources.FromAPI(o.Spec.Resources)
		if err != nil {
			continue
		}
		n := byNode[o.Spec.NodeName]
		if n == nil {
			n = &NodeOffers{Node: o.Spec.NodeName, Attributes: maps.Clone(o.Spec.Attributes)}
			byNode[o.Spec.NodeName] = n
		}
		n.Offers = append(n.Offers, o.Name)
		n.Free = n.Free.Add(v)
	}
	out := make([]*NodeOffers, 0, len(byNode))
	for _, n := range byNode {
		slices.Sort(n.Offers)
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *NodeOffers) int { return strings.Compare(a.Node, b.Node) })
	return out
}

// Fits returns nil if r fits in what n has left, or an error saying what is
// short ("node-a: short of cpus 0.5, ports [31000]").
func (n *NodeOffers) Fits(r v1alpha1.Resources) error {
	want, err := resources.FromAPI(r)
	if err != nil {
		return fmt.Errorf("resources.%w", err)
	}
	if !want.Fits(n.Free) {
		return fmt.Errorf("%s: short of %s", n.Node, n.Free.Shortfall(want))
	}
	return nil
}

// Add places task t on n if its resources fit in what is left, taking them;
// otherwise it returns the error of Fits and changes nothing.
func (n *NodeOffers) Add(t v1alpha1.Task) error {
	if err := n.Fits(t.Spec.Resources); err != nil {
		return err
	}
	want, _ := resources.FromAPI(t.Spec.Resources)
	n.Free = n.Free.Sub(want)
	n.Tasks = append(n.Tasks, t)
	return nil
}

// PickPorts returns count free ports of n, lowest first, without taking them
// (Add does, once the task names them); false when n has fewer.
func (n *NodeOffers) PickPorts(count int) ([]int32, bool) {
	return PickPorts(n.Free.Ports.ToAPI(), count)
}

// Placement returns n's node as a Placement, for constraints.
func (n *NodeOffers) Placement() Placement {
	return Placement{Node: n.Node, Attributes: n.Attributes}
}

// Launch returns the Launch of the tasks placed on n, on all its offers; false
// when no task was placed.
func (n *NodeOffers) Launch() (Launch, bool) {
	if len(n.Tasks) == 0 {
		return Launch{}, false
	}
	return Launch{Offers: slices.Clone(n.Offers), Tasks: slices.Clone(n.Tasks)}, true
}

// Decisions returns n's Launch when tasks were placed on it, or else a Decline
// of each of its offers with refuseSeconds.
func (n *NodeOffers) Decisions(refuseSeconds *int32) []Decision {
	if l, ok := n.Launch(); ok {
		return []Decision{l}
	}
	out := make([]Decision, 0, len(n.Offers))
	for _, o := range n.Offers {
		out = append(out, Decline{Offer: o, RefuseSeconds: refuseSeconds})
	}
	return out
}

// PickPorts returns count ports from the ranges free, lowest first; false when
// they hold fewer. Zero ports is always possible.
func PickPorts(free []v1alpha1.PortRange, count int) ([]int32, bool) {
	set, err := resources.PortsFromAPI(free)
	if err != nil || set.Count() < count {
		return nil, count <= 0
	}
	out := make([]int32, 0, count)
	for _, r := range set {
		for p := int(r.Begin); p <= int(r.End) && len(out) < count; p++ {
			out = append(out, int32(p))
		}
	}
	return out, true
}

// PortRanges returns ports as the fewest ranges, for Resources.Ports.
func PortRanges(ports []int32) []v1alpha1.PortRange {
	rs := make([]resources.PortRange, 0, len(ports))
	for _, p := range ports {
		if p >= 1 && p <= 65535 {
			rs = append(rs, resources.PortRange{Begin: uint16(p), End: uint16(p)})
		}
	}
	return resources.NewPortSet(rs...).ToAPI()
}

// subtractPorts returns the ports of a that are not in b.
func subtractPorts(a, b []v1alpha1.PortRange) []v1alpha1.PortRange {
	as, err := resources.PortsFromAPI(a)
	if err != nil {
		return nil
	}
	bs, err := resources.PortsFromAPI(b)
	if err != nil {
		return nil
	}
	return as.Difference(bs).ToAPI()
}
