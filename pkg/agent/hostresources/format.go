package hostresources

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"meseta.dev/meseta/apis/v1alpha1"
)

// FormatResources writes resources in the canonical form that ParseResources
// reads back to the same values: "cpus:500m;mem:4Gi;disk:10000Mi;gpus:1;ports:[31000-32000]".
// mem and disk always carry a unit (a byte count without a binary suffix is written
// with the exponent "e0"), so they are never read back as megabytes.
func FormatResources(r v1alpha1.Resources) string {
	var items []string
	if r.Cpus != nil {
		items = append(items, NameCPUs+":"+r.Cpus.String())
	}
	if r.Mem != nil {
		items = append(items, NameMem+":"+formatBytes(r.Mem))
	}
	if r.Disk != nil {
		items = append(items, NameDisk+":"+formatBytes(r.Disk))
	}
	if r.Gpus != nil {
		items = append(items, NameGPUs+":"+r.Gpus.String())
	}
	if len(r.Ports) > 0 {
		items = append(items, NamePorts+":"+FormatPortRanges(r.Ports))
	}
	return strings.Join(items, ";")
}

func formatBytes(q *resource.Quantity) string {
	s := resource.NewQuantity(q.Value(), resource.BinarySI).String()
	if plainNumber.MatchString(s) {
		return s + "e0"
	}
	return s
}

// FormatPortRanges writes port ranges as "[31000-32000,33000-33000]".
func FormatPortRanges(ports []v1alpha1.PortRange) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprintf("%d-%d", p.Begin, p.End)
	}
	return "[" + strings.Join(parts, ",") + "]"
}
