package sdk

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"meseta.dev/meseta/apis/v1alpha1"
)

// FieldHostname is the constraint field that stands for the node itself (its
// name); every other field names a node attribute.
const FieldHostname = "hostname"

// Placement is a node a task runs on, or may run on: its name and attributes.
type Placement struct {
	// Node is the node's name.
	Node string
	// Attributes are the node's attributes.
	Attributes map[string]string
}

// Value returns p's value of a constraint field: the node name for
// "hostname", else the attribute; false when p has no such attribute.
func (p Placement) Value(field string) (string, bool) {
	if field == FieldHostname {
		return p.Node, p.Node != ""
	}
	v, ok := p.Attributes[field]
	return v, ok
}

// PlacementOf returns where a bound task runs, given the attributes of its
// node (nil when unknown); its node is spec.nodeName.
func PlacementOf(t *v1alpha1.Task, attributes map[string]string) Placement {
	return Placement{Node: t.Spec.NodeName, Attributes: attributes}
}

// ValidateConstraints checks the shape of constraints: a field, a known
// operator, a value where one is needed, positive integers for MAX_PER and
// GROUP_BY, regular expressions that compile for LIKE and UNLIKE. The error
// names the constraint by index.
func ValidateConstraints(cs []v1alpha1.Constraint) error {
	var errs []error
	for i, c := range cs {
		if _, err := parseConstraint(c); err != nil {
			errs = append(errs, fmt.Errorf("constraints[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// Satisfies returns nil when one more task may be placed on candidate under
// every constraint, given where the group's tasks are placed already. Otherwise
// it returns an error that names the first constraint broken and why, for
// people ("[rack, CLUSTER, r1]: node-b has rack=r2").
func Satisfies(cs []v1alpha1.Constraint, candidate Placement, placed []Placement) error {
	for _, c := range cs {
		pc, err := parseConstraint(c)
		if err != nil {
			return fmt.Errorf("%s: %w", formatConstraint(c), err)
		}
		if reason := pc.check(candidate, placed); reason != "" {
			return fmt.Errorf("%s: %s", formatConstraint(c), reason)
		}
	}
	return nil
}

// constraint is a parsed constraint.
type constraint struct {
	field string
	op    string
	value string
	re    *regexp.Regexp // LIKE, UNLIKE
	n     int            // MAX_PER; GROUP_BY (0 when not given)
}

func parseConstraint(c v1alpha1.Constraint) (constraint, error) {
	if len(c) < 2 || len(c) > 3 {
		return constraint{}, fmt.Errorf("want [field, OPERATOR] or [field, OPERATOR, value], got %d items", len(c))
	}
	pc := constraint{field: c[0], op: c[1]}
	if pc.field == "" {
		return pc, errors.New("the field must not be empty")
	}
	if len(c) == 3 {
		pc.value = c[2]
	}
	needsValue := false
	switch pc.op {
	case v1alpha1.ConstraintUnique:
		if len(c) == 3 {
			return pc, errors.New("UNIQUE takes no value")
		}
	case v1alpha1.ConstraintCluster:
		needsValue = true
	case v1alpha1.ConstraintLike, v1alpha1.ConstraintUnlike:
		needsValue = true
		re, err := regexp.Compile("^(?:" + pc.value + ")$")
		if err != nil {
			return pc, fmt.Errorf("value: %q is not a regular expression: %w", pc.value, err)
		}
		pc.re = re
	case v1alpha1.ConstraintMaxPer, v1alpha1.ConstraintGroupBy:
		needsValue = pc.op == v1alpha1.ConstraintMaxPer
		if len(c) == 3 {
			n, err := strconv.Atoi(pc.value)
			if err != nil || n < 1 {
				return pc, fmt.Errorf("value: %q must be a positive integer", pc.value)
			}
			pc.n = n
		}
	default:
		return pc, fmt.Errorf("operator: %q must be one of UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER", pc.op)
	}
	if needsValue && len(c) != 3 {
		return pc, fmt.Errorf("%s needs a value", pc.op)
	}
	return pc, nil
}

// check returns why candidate breaks the constraint, or "".
func (c constraint) check(candidate Placement, placed []Placement) string {
	v, ok := candidate.Value(c.field)
	if c.op == v1alpha1.ConstraintUnlike {
		if ok && c.re.MatchString(v) {
			return fmt.Sprintf("%s has %s=%s", candidate.Node, c.field, v)
		}
		return ""
	}
	if !ok {
		return fmt.Sprintf("%s has no attribute %s", candidate.Node, c.field)
	}
	counts := countValues(c.field, placed)
	switch c.op {
	case v1alpha1.ConstraintUnique:
		if counts[v] > 0 {
			return fmt.Sprintf("a task runs on %s=%s already", c.field, v)
		}
	case v1alpha1.ConstraintCluster:
		if v != c.value {
			return fmt.Sprintf("%s has %s=%s", candidate.Node, c.field, v)
		}
	case v1alpha1.ConstraintLike:
		if !c.re.MatchString(v) {
			return fmt.Sprintf("%s has %s=%s", candidate.Node, c.field, v)
		}
	case v1alpha1.ConstraintMaxPer:
		if counts[v] >= c.n {
			return fmt.Sprintf("%d tasks run on %s=%s already", counts[v], c.field, v)
		}
	case v1alpha1.ConstraintGroupBy:
		least := leastCount(counts, c.n)
		if counts[v] > least {
			return fmt.Sprintf("%d tasks run on %s=%s, more than on another %s (%d)", counts[v], c.field, v, c.field, least)
		}
	}
	return ""
}

// countValues counts the placed tasks by their value of field.
func countValues(field string, placed []Placement) map[string]int {
	counts := map[string]int{}
	for _, p := range placed {
		if v, ok := p.Value(field); ok {
			counts[v]++
		}
	}
	return counts
}

// leastCount returns the fewest tasks on any value of the field: zero while
// fewer than expected values (GROUP_BY's value) hold tasks.
func leastCount(counts map[string]int, expected int) int {
	if len(counts) < expected || len(counts) == 0 {
		return 0
	}
	least := math.MaxInt
	for _, n := range counts {
		least = min(least, n)
	}
	return least
}

// formatConstraint writes c as in YAML flow style: "[rack, CLUSTER, r1]".
func formatConstraint(c v1alpha1.Constraint) string {
	return "[" + strings.Join(c, ", ") + "]"
}
