package sdk

import (
	"testing"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/apis/v1alpha1"
)

func at(node string, attrs ...string) Placement {
	p := Placement{Node: node, Attributes: map[string]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		p.Attributes[attrs[i]] = attrs[i+1]
	}
	return p
}

func TestSatisfies(t *testing.T) {
	tests := []struct {
		name    string
		c       v1alpha1.Constraint
		cand    Placement
		placed  []Placement
		wantErr string
	}{
		{name: "unique hostname, free node", c: v1alpha1.Constraint{"hostname", "UNIQUE"}, cand: at("a"), placed: []Placement{at("b")}},
		{name: "unique hostname, taken", c: v1alpha1.Constraint{"hostname", "UNIQUE"}, cand: at("a"), placed: []Placement{at("a")}, wantErr: "[hostname, UNIQUE]: a task runs on hostname=a already"},
		{name: "unique attribute", c: v1alpha1.Constraint{"rack", "UNIQUE"}, cand: at("a", "rack", "r1"), placed: []Placement{at("b", "rack", "r1")}, wantErr: "rack=r1 already"},
		{name: "unique, attribute missing", c: v1alpha1.Constraint{"rack", "UNIQUE"}, cand: at("a"), wantErr: "a has no attribute rack"},
		{name: "cluster match", c: v1alpha1.Constraint{"rack", "CLUSTER", "r1"}, cand: at("a", "rack", "r1")},
		{name: "cluster mismatch", c: v1alpha1.Constraint{"rack", "CLUSTER", "r1"}, cand: at("b", "rack", "r2"), wantErr: "[rack, CLUSTER, r1]: b has rack=r2"},
		{name: "cluster on hostname", c: v1alpha1.Constraint{"hostname", "CLUSTER", "a"}, cand: at("a")},
		{name: "like matches whole value", c: v1alpha1.Constraint{"rack", "LIKE", "r[1-3]"}, cand: at("a", "rack", "r2")},
		{name: "like is anchored", c: v1alpha1.Constraint{"rack", "LIKE", "r[1-3]"}, cand: at("a", "rack", "r22"), wantErr: "a has rack=r22"},
		{name: "like, attribute missing", c: v1alpha1.Constraint{"rack", "LIKE", ".*"}, cand: at("a"), wantErr: "no attribute rack"},
		{name: "unlike passes", c: v1alpha1.Constraint{"rack", "UNLIKE", "r9"}, cand: at("a", "rack", "r1")},
		{name: "unlike, attribute missing passes", c: v1alpha1.Constraint{"rack", "UNLIKE", "r9"}, cand: at("a")},
		{name: "unlike refuses", c: v1alpha1.Constraint{"rack", "UNLIKE", "r9|r8"}, cand: at("a", "rack", "r8"), wantErr: "a has rack=r8"},
		{name: "max per below", c: v1alpha1.Constraint{"zone", "MAX_PER", "2"}, cand: at("a", "zone", "z1"), placed: []Placement{at("b", "zone", "z1")}},
		{name: "max per reached", c: v1alpha1.Constraint{"zone", "MAX_PER", "2"}, cand: at("a", "zone", "z1"), placed: []Placement{at("b", "zone", "z1"), at("c", "zone", "z1")}, wantErr: "2 tasks run on zone=z1 already"},
		{name: "group by, nothing placed", c: v1alpha1.Constraint{"zone", "GROUP_BY"}, cand: at("a", "zone", "z1")},
		{name: "group by, even", c: v1alpha1.Constraint{"zone", "GROUP_BY"}, cand: at("a", "zone", "z1"), placed: []Placement{at("b", "zone", "z1"), at("c", "zone", "z2")}},
		{name: "group by, uneven", c: v1alpha1.Constraint{"zone", "GROUP_BY"}, cand: at("a", "zone", "z1"), placed: []Placement{at("b", "zone", "z1"), at("c", "zone", "z1"), at("d", "zone", "z2")}, wantErr: "2 tasks run on zone=z1, more than on another zone (1)"},
		{name: "group by, new value", c: v1alpha1.Constraint{"zone", "GROUP_BY"}, cand: at("a", "zone", "z3"), placed: []Placement{at("b", "zone", "z1")}},
		{name: "group by, fewer values than expected", c: v1alpha1.Constraint{"zone", "GROUP_BY", "2"}, cand: at("a", "zone", "z1"), placed: []Placement{at("b", "zone", "z1")}, wantErr: "more than on another zone (0)"},
		{name: "group by, expected values reached", c: v1alpha1.Constraint{"zone", "GROUP_BY", "2"}, cand: at("a", "zone", "z1"), placed: []Placement{at("b", "zone", "z1"), at("c", "zone", "z2")}},
		{name: "bad operator", c: v1alpha1.Constraint{"zone", "NEAR"}, cand: at("a"), wantErr: "operator: \"NEAR\" must be one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := Satisfies([]v1alpha1.Constraint{tt.c}, tt.cand, tt.placed)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
		})
	}
}

func TestValidateConstraints(t *testing.T) {
	tests := []struct {
		name    string
		cs      []v1alpha1.Constraint
		wantErr string
	}{
		{name: "none"},
		{name: "all valid", cs: []v1alpha1.Constraint{{"hostname", "UNIQUE"}, {"rack", "CLUSTER", "r1"}, {"zone", "GROUP_BY"}, {"zone", "GROUP_BY", "3"}, {"rack", "LIKE", "r.*"}, {"rack", "UNLIKE", "r9"}, {"zone", "MAX_PER", "2"}}},
		{name: "unique with value", cs: []v1alpha1.Constraint{{"hostname", "UNIQUE", "x"}}, wantErr: "constraints[0]: UNIQUE takes no value"},
		{name: "cluster without value", cs: []v1alpha1.Constraint{{"hostname", "UNIQUE"}, {"rack", "CLUSTER"}}, wantErr: "constraints[1]: CLUSTER needs a value"},
		{name: "max per not a number", cs: []v1alpha1.Constraint{{"zone", "MAX_PER", "two"}}, wantErr: "value: \"two\" must be a positive integer"},
		{name: "max per zero", cs: []v1alpha1.Constraint{{"zone", "MAX_PER", "0"}}, wantErr: "must be a positive integer"},
		{name: "bad regexp", cs: []v1alpha1.Constraint{{"rack", "LIKE", "r["}}, wantErr: "is not a regular expression"},
		{name: "empty field", cs: []v1alpha1.Constraint{{"", "UNIQUE"}}, wantErr: "the field must not be empty"},
		{name: "too short", cs: []v1alpha1.Constraint{{"rack"}}, wantErr: "got 1 items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			err := ValidateConstraints(tt.cs)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
		})
	}
}
