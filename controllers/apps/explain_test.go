package apps

import (
	"testing"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/resources"
	"meseta.dev/meseta/pkg/sdk"
)

func TestExplain(t *testing.T) {
	node := func(name, free string, attrs map[string]string) nodeOffer {
		return nodeOffer{node: name, free: resources.MustParse(free), attributes: attrs}
	}
	res := func(spec string) v1alpha1.Resources { return resources.MustParse(spec).ToAPI() }
	tests := []struct {
		name       string
		in         unplaced
		wantReason string
		wantMsg    string
	}{
		{
			name:       "no offers",
			in:         unplaced{waiting: 2, resources: res("cpus:1")},
			wantReason: v1alpha1.AppWaitingForOffersReason,
			wantMsg:    "no offers: 2 instances wait for offers and none were received",
		},
		{
			name: "one resource short everywhere: the largest offer",
			in: unplaced{waiting: 2, resources: res("cpus:4;mem:64Mi"),
				nodes: []nodeOffer{node("n0", "cpus:1;mem:1Gi", nil), node("n1", "cpus:1.5;mem:1Gi", nil)}},
			wantReason: v1alpha1.AppNoOfferFitsReason,
			wantMsg:    "no offer fits: 2 instances need cpus 4 but the largest offer has cpus 1.5 (node n1)",
		},
		{
			name: "two resources short",
			in: unplaced{waiting: 1, resources: res("cpus:4;mem:2Gi"),
				nodes: []nodeOffer{node("n0", "cpus:1;mem:1Gi", nil), node("n1", "cpus:1.5;mem:512Mi", nil)}},
			wantReason: v1alpha1.AppNoOfferFitsReason,
			wantMsg:    "no offer fits: 1 instance needs cpus 4, mem 2Gi but the largest offers have cpus 1.5 (node n1), mem 1Gi (node n0)",
		},
		{
			name: "each resource somewhere, never together",
			in: unplaced{waiting: 1, resources: res("cpus:1;mem:1Gi"),
				nodes: []nodeOffer{node("n0", "cpus:1;mem:512Mi", nil), node("n1", "cpus:0.5;mem:2Gi", nil)}},
			wantReason: v1alpha1.AppNoOfferFitsReason,
			wantMsg:    "no offer fits: 1 instance needs cpus 1, mem 1Gi each; node n0 is short of mem 512Mi; node n1 is short of cpus 0.5",
		},
		{
			name: "a port taken everywhere",
			in: unplaced{waiting: 1, resources: res("cpus:0.1;ports:[31080]"),
				nodes: []nodeOffer{node("n0", "cpus:1;ports:[31000-31079]", nil)}},
			wantReason: v1alpha1.AppNoOfferFitsReason,
			wantMsg:    "no offer fits: 1 instance needs ports [31080] but no offer has those ports",
		},
		{
			name: "UNIQUE hostname: more instances than nodes",
			in: unplaced{waiting: 1, resources: res("cpus:0.1"), constraints: []v1alpha1.Constraint{{"hostname", "UNIQUE"}},
				placed: []sdk.Placement{{Node: "n0"}, {Node: "n1"}},
				nodes:  []nodeOffer{node("n0", "cpus:1", nil), node("n1", "cpus:1", nil)}},
			wantReason: v1alpha1.AppConstraintNotMetReason,
			wantMsg:    "constraint [hostname, UNIQUE] cannot be met: 3 instances, 2 nodes",
		},
		{
			name: "MAX_PER on an attribute",
			in: unplaced{waiting: 1, resources: res("cpus:0.1"), constraints: []v1alpha1.Constraint{{"zone", "MAX_PER", "2"}},
				placed: []sdk.Placement{{Node: "n0", Attributes: map[string]string{"zone": "a"}}, {Node: "n0", Attributes: map[string]string{"zone": "a"}}},
				nodes:  []nodeOffer{node("n0", "cpus:1", map[string]string{"zone": "a"})}},
			wantReason: v1alpha1.AppConstraintNotMetReason,
			wantMsg:    "constraint [zone, MAX_PER, 2] cannot be met: 3 instances, at most 2 on each of 1 value of zone",
		},
		{
			name: "CLUSTER: no node with the value",
			in: unplaced{waiting: 1, resources: res("cpus:0.1"), constraints: []v1alpha1.Constraint{{"rack", "CLUSTER", "r1"}},
				nodes: []nodeOffer{node("n0", "cpus:1", map[string]string{"rack": "r2"}), node("n1", "cpus:1", nil)}},
			wantReason: v1alpha1.AppConstraintNotMetReason,
			wantMsg:    "constraint [rack, CLUSTER, r1] cannot be met: n0 has rack=r2; n1 has no attribute rack",
		},
		{
			name: "constraints only fail together",
			in: unplaced{waiting: 1, resources: res("cpus:0.1"),
				constraints: []v1alpha1.Constraint{{"rack", "LIKE", "r[12]"}, {"hostname", "UNLIKE", "n1"}},
				nodes:       []nodeOffer{node("n0", "cpus:1", map[string]string{"rack": "r3"}), node("n1", "cpus:1", map[string]string{"rack": "r1"})}},
			wantReason: v1alpha1.AppConstraintNotMetReason,
			wantMsg:    "constraints cannot be met together: n0: [rack, LIKE, r[12]]: n0 has rack=r3; n1: [hostname, UNLIKE, n1]: n1 has hostname=n1",
		},
		{
			name: "resources are checked on the nodes that keep the constraints",
			in: unplaced{waiting: 1, resources: res("cpus:2"), constraints: []v1alpha1.Constraint{{"hostname", "UNIQUE"}},
				placed: []sdk.Placement{{Node: "n0"}},
				nodes:  []nodeOffer{node("n0", "cpus:8", nil), node("n1", "cpus:1", nil)}},
			wantReason: v1alpha1.AppNoOfferFitsReason,
			wantMsg:    "no offer fits: 1 instance needs cpus 2 but the largest offer has cpus 1 (node n1)",
		},
		{
			name: "a node fits: just waiting",
			in: unplaced{waiting: 1, resources: res("cpus:1"),
				nodes: []nodeOffer{node("n0", "cpus:2", nil)}},
			wantReason: v1alpha1.AppWaitingForOffersReason,
			wantMsg:    "waiting for offers: 1 instance not placed yet; node n0 had room in its last offer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got := explain(tt.in)
			g.Expect(got.message).To(Equal(tt.wantMsg))
			g.Expect(got.reason).To(Equal(tt.wantReason))
		})
	}
}
