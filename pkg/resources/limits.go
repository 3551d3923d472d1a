package resources

import "strings"

// Limits is an upper bound on some scalar resources, as a role's quota limit is:
// a resource without a bound is unlimited, and a bound of zero allows none.
// Ports cannot be limited. The zero Limits bounds nothing.
type Limits struct {
	set uint8 // bit i: Name(i) is bounded
	max [NumScalars]int64
}

// LimitsFrom returns Limits that bound every scalar resource at v's amount,
// zero included.
func LimitsFrom(v Vector) Limits {
	return Limits{set: 1<<NumScalars - 1, max: v.Scalars()}
}

// With returns a copy of l that bounds resource n at bound (clamped at zero).
func (l Limits) With(n Name, bound int64) Limits {
	if int(n) >= NumScalars {
		return l
	}
	l.set |= 1 << n
	l.max[n] = max(bound, 0)
	return l
}

// Get returns the bound of resource n, and false when n is unlimited.
func (l Limits) Get(n Name) (int64, bool) {
	if int(n) >= NumScalars || l.set&(1<<n) == 0 {
		return 0, false
	}
	return l.max[n], true
}

// IsUnlimited reports whether l bounds nothing.
func (l Limits) IsUnlimited() bool { return l.set == 0 }

// Allows reports whether v stays within every bound of l.
func (l Limits) Allows(v Vector) bool {
	_, over := l.Exceeded(v)
	return !over
}

// Exceeded returns the first resource, in Names order, of which v holds more
// than l allows, and false when v is within every bound.
func (l Limits) Exceeded(v Vector) (Name, bool) {
	vs := v.Scalars()
	for i := range NumScalars {
		if l.set&(1<<i) != 0 && vs[i] > l.max[i] {
			return Name(i), true
		}
	}
	return 0, false
}

// Headroom returns how much more than used each resource may grow within l:
// the bound minus used, never below zero, and Unlimited for resources without
// a bound. The result has no ports.
func (l Limits) Headroom(used Vector) Vector {
	us := used.Scalars()
	var h [NumScalars]int64
	for i := range NumScalars {
		if l.set&(1<<i) == 0 {
			h[i] = Unlimited
		} else {
			h[i] = subSat(l.max[i], us[i])
		}
	}
	return FromScalars(h, nil)
}

// String returns the bounds for people, "cpus 4, mem 8Gi", or "unlimited".
func (l Limits) String() string {
	if l.set == 0 {
		return "unlimited"
	}
	var parts []string
	for i := range NumScalars {
		if l.set&(1<<i) != 0 {
			parts = append(parts, Name(i).String()+" "+FormatScalar(Name(i), l.max[i]))
		}
	}
	return strings.Join(parts, ", ")
}
