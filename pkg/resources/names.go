package resources

// Name identifies one scalar resource of a Vector. Ports are a set, not a
// scalar, and have no Name.
type Name uint8

// The scalar resources, in the order they are printed.
const (
	// Cpus is CPU time, held in milli-CPUs.
	Cpus Name = iota
	// Mem is memory, held in bytes.
	Mem
	// Disk is scratch disk, held in bytes.
	Disk
	// Gpus is GPUs, held in milli-GPUs.
	Gpus
)

// NumScalars is the number of scalar resources; Names lists them.
const NumScalars = 4

// Names lists every scalar resource in print order.
var Names = [NumScalars]Name{Cpus, Mem, Disk, Gpus}

var nameStrings = [NumScalars]string{"cpus", "mem", "disk", "gpus"}

// String returns the resource's API name: "cpus", "mem", "disk" or "gpus".
func (n Name) String() string {
	if int(n) < NumScalars {
		return nameStrings[n]
	}
	return "unknown"
}

// Milli reports whether the resource is held in thousandths of a unit (cpus and
// gpus) rather than in bytes (mem and disk).
func (n Name) Milli() bool { return n == Cpus || n == Gpus }

// nameOf maps an API name to its Name.
func nameOf(s string) (Name, bool) {
	for i, ns := range nameStrings {
		if s == ns {
			return Name(i), true
		}
	}
	return 0, false
}
