package hostresources

import (
	"k8s.io/apimachinery/pkg/api/resource"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Reserve limits: DefaultReserve keeps at most this much for the system, and never
// more than half of the machine.
var (
	// ReserveCPUs is the CPU kept for the system (the agent, runc, sshd) on
	// machines with more than one CPU.
	ReserveCPUs = resource.MustParse("100m")
	// ReserveMemMax is the most memory kept for the system (Mesos keeps 1 GB).
	ReserveMemMax = resource.MustParse("1Gi")
	// ReserveDiskMax is the most disk kept for the system (Mesos keeps 5 GB).
	ReserveDiskMax = resource.MustParse("5Gi")
)

// DefaultReserve is what the system keeps of a machine's capacity: ReserveCPUs when
// the machine has more than one CPU, and the smaller of half and ReserveMemMax
// (ReserveDiskMax) of memory (disk). Ports and GPUs are not reserved.
func DefaultReserve(capacity v1alpha1.Resources) v1alpha1.Resources {
	var out v1alpha1.Resources
	if capacity.Cpus != nil && capacity.Cpus.MilliValue() > 1000 {
		out.Cpus = ptr(ReserveCPUs.DeepCopy())
	}
	if capacity.Mem != nil {
		out.Mem = halfCapped(capacity.Mem, ReserveMemMax)
	}
	if capacity.Disk != nil {
		out.Disk = halfCapped(capacity.Disk, ReserveDiskMax)
	}
	return out
}

func halfCapped(q *resource.Quantity, maxQ resource.Quantity) *resource.Quantity {
	half := resource.NewQuantity(q.Value()/2, resource.BinarySI)
	if half.Cmp(maxQ) > 0 {
		return ptr(maxQ.DeepCopy())
	}
	return half
}

// Subtract returns a minus b, resource by resource, never below zero. Resources
// that a lacks stay nil; ports of b are cut out of a's ranges.
func Subtract(a, b v1alpha1.Resources) v1alpha1.Resources {
	out := v1alpha1.Resources{
		Cpus:  subQuantity(a.Cpus, b.Cpus),
		Mem:   subQuantity(a.Mem, b.Mem),
		Disk:  subQuantity(a.Disk, b.Disk),
		Gpus:  subQuantity(a.Gpus, b.Gpus),
		Ports: SubtractPorts(a.Ports, b.Ports),
	}
	return out
}

func subQuantity(a, b *resource.Quantity) *resource.Quantity {
	if a == nil {
		return nil
	}
	out := a.DeepCopy()
	if b != nil {
		out.Sub(*b)
	}
	if out.Sign() < 0 {
		out = *resource.NewQuantity(0, a.Format)
	}
	return &out
}

// SubtractPorts cuts the ranges b out of the ranges a; both must be sorted and
// non-overlapping, as ParsePortRanges returns them.
func SubtractPorts(a, b []v1alpha1.PortRange) []v1alpha1.PortRange {
	var out []v1alpha1.PortRange
	for _, r := range a {
		pieces := []v1alpha1.PortRange{r}
		for _, cut := range b {
			var next []v1alpha1.PortRange
			for _, p := range pieces {
				next = append(next, cutRange(p, cut)...)
			}
			pieces = next
		}
		out = append(out, pieces...)
	}
	return out
}

func cutRange(p, cut v1alpha1.PortRange) []v1alpha1.PortRange {
	if cut.End < p.Begin || cut.Begin > p.End {
		return []v1alpha1.PortRange{p}
	}
	var out []v1alpha1.PortRange
	if cut.Begin > p.Begin {
		out = append(out, v1alpha1.PortRange{Begin: p.Begin, End: cut.Begin - 1})
	}
	if cut.End < p.End {
		out = append(out, v1alpha1.PortRange{Begin: cut.End + 1, End: p.End})
	}
	return out
}

// Override returns base with every resource that over sets replaced by over's
// value: what an operator gives with --resources wins over what was detected.
func Override(base, over v1alpha1.Resources) v1alpha1.Resources {
	out := *base.DeepCopy()
	if over.Cpus != nil {
		out.Cpus = ptr(over.Cpus.DeepCopy())
	}
	if over.Mem != nil {
		out.Mem = ptr(over.Mem.DeepCopy())
	}
	if over.Disk != nil {
		out.Disk = ptr(over.Disk.DeepCopy())
	}
	if over.Gpus != nil {
		out.Gpus = ptr(over.Gpus.DeepCopy())
	}
	if over.Ports != nil {
		out.Ports = append([]v1alpha1.PortRange(nil), over.Ports...)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
