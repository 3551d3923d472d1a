package resources

import "math"

// MaxValue is the largest scalar that Parse and FromAPI accept for one resource
// (milli-cpus, bytes or milli-gpus): 2^53, about 9 PiB of memory or 9 billion
// CPUs. Arithmetic saturates instead of overflowing, so sums stay meaningful.
const MaxValue int64 = 1 << 53

// Unlimited is the headroom Limits.Headroom reports for a resource that has no
// limit.
const Unlimited int64 = math.MaxInt64

// Vector is an amount of every resource: what a node has, what a task asks for,
// what an offer holds. It is a small value: pass and copy it freely. Scalars are
// integers, so arithmetic is exact. Fields must not be negative; every function
// of this package keeps them non-negative.
//
// The zero Vector holds nothing.
type Vector struct {
	// MilliCPUs is CPU time in thousandths of a CPU.
	MilliCPUs int64
	// Mem is memory in bytes.
	Mem int64
	// Disk is scratch disk in bytes.
	Disk int64
	// MilliGPUs is GPUs in thousandths of a GPU.
	MilliGPUs int64
	// Ports is a set of host ports.
	Ports PortSet
}

// DefaultMinAllocatable is the smallest offer the allocator makes unless told
// otherwise: 0.01 CPUs and 32Mi of memory, as in Mesos.
var DefaultMinAllocatable = Vector{MilliCPUs: 10, Mem: 32 << 20}

// FromScalars returns the Vector with the scalars s, indexed by Name, and the
// ports p.
func FromScalars(s [NumScalars]int64, p PortSet) Vector {
	return Vector{MilliCPUs: s[Cpus], Mem: s[Mem], Disk: s[Disk], MilliGPUs: s[Gpus], Ports: p}
}

// Scalars returns the scalar amounts indexed by Name.
func (v Vector) Scalars() [NumScalars]int64 {
	return [NumScalars]int64{v.MilliCPUs, v.Mem, v.Disk, v.MilliGPUs}
}

// Get returns the amount of one scalar resource.
func (v Vector) Get(n Name) int64 {
	switch n {
	case Cpus:
		return v.MilliCPUs
	case Mem:
		return v.Mem
	case Disk:
		return v.Disk
	case Gpus:
		return v.MilliGPUs
	}
	return 0
}

// With returns a copy of v with the amount of one scalar resource set to x.
func (v Vector) With(n Name, x int64) Vector {
	switch n {
	case Cpus:
		v.MilliCPUs = x
	case Mem:
		v.Mem = x
	case Disk:
		v.Disk = x
	case Gpus:
		v.MilliGPUs = x
	}
	return v
}

// IsZero reports whether v holds nothing at all.
func (v Vector) IsZero() bool {
	return v.MilliCPUs == 0 && v.Mem == 0 && v.Disk == 0 && v.MilliGPUs == 0 && len(v.Ports) == 0
}

// Equal reports whether v and o hold the same amounts and ports.
func (v Vector) Equal(o Vector) bool {
	return v.MilliCPUs == o.MilliCPUs && v.Mem == o.Mem && v.Disk == o.Disk &&
		v.MilliGPUs == o.MilliGPUs && v.Ports.Equal(o.Ports)
}

// Add returns v plus o: the sums of the scalars (saturating at the largest
// int64) and the union of the ports.
func (v Vector) Add(o Vector) Vector {
	return Vector{
		MilliCPUs: addSat(v.MilliCPUs, o.MilliCPUs),
		Mem:       addSat(v.Mem, o.Mem),
		Disk:      addSat(v.Disk, o.Disk),
		MilliGPUs: addSat(v.MilliGPUs, o.MilliGPUs),
		Ports:     v.Ports.Union(o.Ports),
	}
}

// Sub returns v minus o, never below zero: each scalar is clamped at zero and
// o's ports are removed from v's. Use Contains first, or Shortfall, to learn
// whether o fitted.
func (v Vector) Sub(o Vector) Vector {
	return Vector{
		MilliCPUs: subSat(v.MilliCPUs, o.MilliCPUs),
		Mem:       subSat(v.Mem, o.Mem),
		Disk:      subSat(v.Disk, o.Disk),
		MilliGPUs: subSat(v.MilliGPUs, o.MilliGPUs),
		Ports:     v.Ports.Difference(o.Ports),
	}
}

// Min returns the smaller of v and o in each scalar, and the ports in both.
func (v Vector) Min(o Vector) Vector {
	return Vector{
		MilliCPUs: min(v.MilliCPUs, o.MilliCPUs),
		Mem:       min(v.Mem, o.Mem),
		Disk:      min(v.Disk, o.Disk),
		MilliGPUs: min(v.MilliGPUs, o.MilliGPUs),
		Ports:     v.Ports.Intersect(o.Ports),
	}
}

// Contains reports whether v holds at least o: every scalar of o, and every
// port of o.
func (v Vector) Contains(o Vector) bool {
	return v.MilliCPUs >= o.MilliCPUs && v.Mem >= o.Mem && v.Disk >= o.Disk &&
		v.MilliGPUs >= o.MilliGPUs && v.Ports.Contains(o.Ports)
}

// Fits reports whether v fits in avail, that is avail.Contains(v).
func (v Vector) Fits(avail Vector) bool { return avail.Contains(v) }

// Shortfall returns what v lacks to contain want: for each scalar the amount by
// which want exceeds v, and the ports of want that v does not hold. It is zero
// exactly when v.Contains(want).
func (v Vector) Shortfall(want Vector) Vector { return want.Sub(v) }

// Deficit is one scalar resource that falls short of a wanted amount.
type Deficit struct {
	// Name is the resource that is short.
	Name Name
	// Have is the amount there is.
	Have int64
	// Want is the amount needed.
	Want int64
}

// String returns "mem 10Mi < 32Mi".
func (d Deficit) String() string {
	return d.Name.String() + " " + FormatScalar(d.Name, d.Have) + " < " + FormatScalar(d.Name, d.Want)
}

// Below reports the first scalar resource, in Names order, that min names (a
// non-zero amount) and of which v has less; ok is false when v holds at least
// min of every resource min names. Ports are not compared: a minimum is about
// amounts, and any set of ports satisfies it.
func (v Vector) Below(min Vector) (d Deficit, ok bool) {
	vs, ms := v.Scalars(), min.Scalars()
	for i := range NumScalars {
		if ms[i] > 0 && vs[i] < ms[i] {
			return Deficit{Name: Name(i), Have: vs[i], Want: ms[i]}, true
		}
	}
	return Deficit{}, false
}

// DominantShare returns the largest fraction of total that v holds of any
// scalar resource: max over resources of v/total. Resources of which total has
// none are ignored; ports never count. A Vector that holds nothing has share 0.
func (v Vector) DominantShare(total Vector) float64 {
	_, s := v.Dominant(total)
	return s
}

// Dominant returns v's dominant resource against total and its share (see
// DominantShare). Ties go to the resource first in Names order; with no share
// at all it returns Cpus and 0.
func (v Vector) Dominant(total Vector) (Name, float64) {
	vs, ts := v.Scalars(), total.Scalars()
	best, share := Cpus, 0.0
	for i := range NumScalars {
		if ts[i] <= 0 {
			continue
		}
		if s := float64(vs[i]) / float64(ts[i]); s > share {
			best, share = Name(i), s
		}
	}
	return best, share
}

func addSat(a, b int64) int64 {
	s := a + b
	if s < a && b > 0 {
		return math.MaxInt64
	}
	return s
}

func subSat(a, b int64) int64 {
	if a <= b {
		return 0
	}
	return a - b
}
