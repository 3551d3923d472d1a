package resources

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"meseta.dev/meseta/apis/v1alpha1"
)

// FromAPI converts API resources to a Vector. Missing quantities are zero.
// It refuses negative amounts, amounts finer than the Vector holds (a
// thousandth of a CPU or GPU, one byte), amounts above MaxValue and invalid port
// ranges; the error names the field. Overlapping port ranges are merged.
func FromAPI(r v1alpha1.Resources) (Vector, error) {
	var s [NumScalars]int64
	for i, q := range apiQuantities(&r) {
		if *q == nil {
			continue
		}
		x, err := quantityToScalar(Name(i), **q, (*q).String())
		if err != nil {
			return Vector{}, err
		}
		s[i] = x
	}
	ports, err := PortsFromAPI(r.Ports)
	if err != nil {
		return Vector{}, err
	}
	return FromScalars(s, ports), nil
}

// ToAPI converts v to API resources. Zero amounts and empty ports are left out,
// so the zero Vector becomes empty Resources.
func (v Vector) ToAPI() v1alpha1.Resources {
	var r v1alpha1.Resources
	qs := apiQuantities(&r)
	for i, x := range v.Scalars() {
		if x != 0 {
			q := scalarToQuantity(Name(i), x)
			*qs[i] = &q
		}
	}
	r.Ports = v.Ports.ToAPI()
	return r
}

// LimitsFromAPI converts an API limit (a Role's spec.limit) to Limits: the
// quantities set are bounds, the missing ones unlimited, and nil is unlimited.
// Ports cannot be limited and are refused.
func LimitsFromAPI(r *v1alpha1.Resources) (Limits, error) {
	var l Limits
	if r == nil {
		return l, nil
	}
	if len(r.Ports) > 0 {
		return Limits{}, fmt.Errorf("ports: cannot be limited")
	}
	for i, q := range apiQuantities(r) {
		if *q == nil {
			continue
		}
		x, err := quantityToScalar(Name(i), **q, (*q).String())
		if err != nil {
			return Limits{}, err
		}
		l = l.With(Name(i), x)
	}
	return l, nil
}

// ToAPI converts l to API resources with a quantity for each bounded resource;
// unlimited Limits give nil.
func (l Limits) ToAPI() *v1alpha1.Resources {
	if l.IsUnlimited() {
		return nil
	}
	r := &v1alpha1.Resources{}
	qs := apiQuantities(r)
	for i := range NumScalars {
		if x, ok := l.Get(Name(i)); ok {
			q := scalarToQuantity(Name(i), x)
			*qs[i] = &q
		}
	}
	return r
}

// PortsFromAPI converts API port ranges to a PortSet. Ports must be from 1 to
// 65535 and a range must not end before it begins; overlapping ranges are
// merged.
func PortsFromAPI(ranges []v1alpha1.PortRange) (PortSet, error) {
	if len(ranges) == 0 {
		return nil, nil
	}
	rs := make([]PortRange, len(ranges))
	for i, r := range ranges {
		switch {
		case r.Begin < 1 || r.Begin > 65535:
			return nil, fmt.Errorf("ports[%d].begin: %d: %w", i, r.Begin, errBadPort)
		case r.End < 1 || r.End > 65535:
			return nil, fmt.Errorf("ports[%d].end: %d: %w", i, r.End, errBadPort)
		case r.End < r.Begin:
			return nil, fmt.Errorf("ports[%d].end: %d must be at least begin (%d)", i, r.End, r.Begin)
		}
		rs[i] = PortRange{Begin: uint16(r.Begin), End: uint16(r.End)}
	}
	return NewPortSet(rs...), nil
}

// ToAPI converts p to API port ranges; the empty set gives nil.
func (p PortSet) ToAPI() []v1alpha1.PortRange {
	if len(p) == 0 {
		return nil
	}
	out := make([]v1alpha1.PortRange, len(p))
	for i, r := range p {
		out[i] = v1alpha1.PortRange{Begin: int32(r.Begin), End: int32(r.End)}
	}
	return out
}

// apiQuantities returns pointers to r's quantity fields indexed by Name.
func apiQuantities(r *v1alpha1.Resources) [NumScalars]**resource.Quantity {
	return [NumScalars]**resource.Quantity{&r.Cpus, &r.Mem, &r.Disk, &r.Gpus}
}

// scalarToQuantity returns x of resource n as a quantity in its canonical form:
// "500m" or "2" for cpus and gpus, "64Mi" for mem and disk.
func scalarToQuantity(n Name, x int64) resource.Quantity {
	if n.Milli() {
		return *resource.NewMilliQuantity(x, resource.DecimalSI)
	}
	return *resource.NewQuantity(x, resource.BinarySI)
}
