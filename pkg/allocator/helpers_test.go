package allocator_test

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"meseta.dev/meseta/pkg/allocator"
	"meseta.dev/meseta/pkg/resources"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func res(spec string) resources.Vector { return resources.MustParse(spec) }

func limits(spec string) resources.Limits {
	l, err := resources.ParseLimits(spec)
	if err != nil {
		panic(err)
	}
	return l
}

// node returns a ready, schedulable node with allocatable spec.
func node(name, spec string, opts ...func(*allocator.Node)) allocator.Node {
	n := allocator.Node{Name: name, Allocatable: res(spec), Ready: true}
	for _, o := range opts {
		o(&n)
	}
	return n
}

func allocated(spec string) func(*allocator.Node) {
	return func(n *allocator.Node) { n.Allocated = res(spec) }
}
func offered(spec string) func(*allocator.Node) {
	return func(n *allocator.Node) { n.Offered = res(spec) }
}
func notReady(n *allocator.Node) { n.Ready = false }
func cordoned(n *allocator.Node) { n.Unschedulable = true }
func attrs(kv ...string) func(*allocator.Node) {
	return func(n *allocator.Node) {
		n.Attributes = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			n.Attributes[kv[i]] = kv[i+1]
		}
	}
}

// nodes returns count nodes named prefix-0, prefix-1, ... of the same size.
func nodes(prefix string, count int, spec string) []allocator.Node {
	out := make([]allocator.Node, count)
	for i := range out {
		out[i] = node(fmt.Sprintf("%s-%d", prefix, i), spec)
	}
	return out
}

// fw returns an active framework "ns/name" in role (the namespace when empty).
func fw(key, role string, opts ...func(*allocator.Framework)) allocator.Framework {
	ns, name, _ := strings.Cut(key, "/")
	f := allocator.Framework{Key: types.NamespacedName{Namespace: ns, Name: name}, Role: role, Active: true}
	for _, o := range opts {
		o(&f)
	}
	return f
}

func holding(spec string) func(*allocator.Framework) {
	return func(f *allocator.Framework) { f.Allocated = res(spec) }
}
func inactive(f *allocator.Framework)   { f.Active = false }
func suppressed(f *allocator.Framework) { f.Suppressed = true }
func gpuCapable(f *allocator.Framework) { f.GPUCapable = true }
func minimum(spec string) func(*allocator.Framework) {
	return func(f *allocator.Framework) { v := res(spec); f.MinAllocatable = &v }
}
func declined(nodeName string, d time.Duration) func(*allocator.Framework) {
	return func(f *allocator.Framework) {
		f.Filters = append(f.Filters, allocator.Filter{Node: nodeName, Until: now.Add(d)})
	}
}

func key(k string) types.NamespacedName {
	ns, name, _ := strings.Cut(k, "/")
	return types.NamespacedName{Namespace: ns, Name: name}
}

// offerList writes a plan's offers as "ns/fw@node: resources", in order.
func offerList(p *allocator.Plan) []string {
	out := make([]string, len(p.Offers))
	for i, o := range p.Offers {
		out[i] = fmt.Sprintf("%s@%s: %s", o.Framework, o.Node, o.Resources)
	}
	return out
}

// offerCounts counts offers per framework.
func offerCounts(p *allocator.Plan) map[string]int {
	out := map[string]int{}
	for _, o := range p.Offers {
		out[o.Framework.String()]++
	}
	return out
}

// offerSequence lists the frameworks in the order they were offered.
func offerSequence(p *allocator.Plan) []string {
	out := make([]string, len(p.Offers))
	for i, o := range p.Offers {
		out[i] = o.Framework.String()
	}
	return out
}

func sortedOffers(p *allocator.Plan) []string {
	out := offerList(p)
	slices.Sort(out)
	return out
}
