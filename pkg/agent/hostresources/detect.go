package hostresources

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"k8s.io/apimachinery/pkg/api/resource"

	"meseta.dev/meseta/apis/v1alpha1"
)

// DefaultPorts is the port range an agent offers unless told otherwise, as in Mesos.
var DefaultPorts = []v1alpha1.PortRange{{Begin: 31000, End: 32000}}

// Detector finds the resources of the host it runs on. The zero value detects the
// real host; the fields let tests point it at a fake /proc and cgroup tree.
type Detector struct {
	// ProcDir is where procfs is mounted; default "/proc".
	ProcDir string
	// CgroupDir is where the cgroup hierarchies are mounted; default "/sys/fs/cgroup".
	CgroupDir string
	// NumCPU returns the number of CPUs this process may run on; default
	// runtime.NumCPU, which honours the CPU affinity mask.
	NumCPU func() int
	// Statfs reports the file system holding a path; default unix.Statfs.
	Statfs func(path string, st *unix.Statfs_t) error
	// Ports are the ports to offer; default DefaultPorts.
	Ports []v1alpha1.PortRange
}

// Detect reports the host's cpus (CPUs available to this process, capped by its
// cgroup's CFS quota), mem (MemTotal, capped by its cgroup's memory limit), disk
// (size of the file system holding workDir, or its closest existing parent) and
// ports.
func (d Detector) Detect(workDir string) (v1alpha1.Resources, error) {
	d = d.complete()
	milli, err := d.cpuMillis()
	if err != nil {
		return v1alpha1.Resources{}, err
	}
	mem, err := d.memoryBytes()
	if err != nil {
		return v1alpha1.Resources{}, err
	}
	disk, err := d.diskBytes(workDir)
	if err != nil {
		return v1alpha1.Resources{}, err
	}
	return v1alpha1.Resources{
		Cpus:  resource.NewMilliQuantity(milli, resource.DecimalSI),
		Mem:   resource.NewQuantity(mem, resource.BinarySI),
		Disk:  resource.NewQuantity(disk, resource.BinarySI),
		Ports: append([]v1alpha1.PortRange(nil), d.Ports...),
	}, nil
}

func (d Detector) complete() Detector {
	if d.ProcDir == "" {
		d.ProcDir = "/proc"
	}
	if d.CgroupDir == "" {
		d.CgroupDir = "/sys/fs/cgroup"
	}
	if d.NumCPU == nil {
		d.NumCPU = runtime.NumCPU
	}
	if d.Statfs == nil {
		d.Statfs = unix.Statfs
	}
	if d.Ports == nil {
		d.Ports = DefaultPorts
	}
	return d
}

func (d Detector) cpuMillis() (int64, error) {
	milli := int64(d.NumCPU()) * 1000
	if milli <= 0 {
		return 0, errors.New("failed to detect cpus: no CPU is available")
	}
	if quota, ok := d.cpuQuotaMillis(); ok && quota < milli {
		milli = quota
	}
	return milli, nil
}

// cpuQuotaMillis reads the CFS quota of this process's cgroup (v2 cpu.max, or v1
// cpu.cfs_quota_us and cpu.cfs_period_us).
func (d Detector) cpuQuotaMillis() (int64, bool) {
	if data, ok := d.readCgroupFile("cpu", "cpu.max"); ok {
		quota, period, _ := strings.Cut(strings.TrimSpace(data), " ")
		return quotaMillis(quota, period)
	}
	quota, ok1 := d.readCgroupFile("cpu", "cpu.cfs_quota_us")
	period, ok2 := d.readCgroupFile("cpu", "cpu.cfs_period_us")
	if !ok1 || !ok2 {
		return 0, false
	}
	return quotaMillis(strings.TrimSpace(quota), strings.TrimSpace(period))
}

func quotaMillis(quota, period string) (int64, bool) {
	q, err1 := strconv.ParseInt(quota, 10, 64)
	p, err2 := strconv.ParseInt(period, 10, 64)
	if err1 != nil || err2 != nil || q <= 0 || p <= 0 {
		return 0, false // "max" or -1: no quota
	}
	return max(1, q*1000/p), true
}

func (d Detector) memoryBytes() (int64, error) {
	data, err := os.ReadFile(filepath.Join(d.ProcDir, "meminfo"))
	if err != nil {
		return 0, fmt.Errorf("failed to detect memory: %w", err)
	}
	total, err := memTotal(data)
	if err != nil {
		return 0, fmt.Errorf("failed to detect memory from %s/meminfo: %w", d.ProcDir, err)
	}
	if limit, ok := d.CgroupMemoryLimit(); ok && limit < total {
		total = limit
	}
	return total, nil
}

// CgroupMemoryLimit returns the memory limit of this process's cgroup (v2
// memory.max, or v1 memory.limit_in_bytes), false when it has none ("max", or
// v1's largest value) or it cannot be read.
func (d Detector) CgroupMemoryLimit() (int64, bool) {
	d = d.complete()
	for _, file := range []string{"memory.max", "memory.limit_in_bytes"} {
		if s, ok := d.readCgroupFile("memory", file); ok {
			limit, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			return limit, err == nil && limit > 0 && limit < 1<<62
		}
	}
	return 0, false
}

func memTotal(meminfo []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || kb <= 0 {
				return 0, fmt.Errorf("bad MemTotal line %q", sc.Text())
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no MemTotal line")
}

func (d Detector) diskBytes(workDir string) (int64, error) {
	dir, err := filepath.Abs(workDir)
	if err != nil {
		return 0, fmt.Errorf("failed to detect disk of %q: %w", workDir, err)
	}
	for {
		var st unix.Statfs_t
		err := d.Statfs(dir, &st)
		if err == nil {
			return int64(st.Blocks) * st.Bsize, nil
		}
		parent := filepath.Dir(dir)
		if !errors.Is(err, unix.ENOENT) || parent == dir {
			return 0, fmt.Errorf("failed to detect disk of %q: %w", workDir, err)
		}
		dir = parent
	}
}

// readCgroupFile reads a file of this process's cgroup for a controller: on a
// cgroup v2 host from the unified hierarchy, on a v1 host from the controller's
// hierarchy. Inside a container the cgroup path of /proc/self/cgroup may not exist
// in the mounted tree; then the file at the mount's root is read.
func (d Detector) readCgroupFile(controller, file string) (string, bool) {
	data, err := os.ReadFile(filepath.Join(d.ProcDir, "self", "cgroup"))
	if err != nil {
		return "", false
	}
	unified := fileExists(filepath.Join(d.CgroupDir, "cgroup.controllers"))
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var mount string
		switch {
		case unified && parts[0] == "0" && parts[1] == "":
			mount = d.CgroupDir
		case !unified && hasController(parts[1], controller):
			mount = d.v1Mount(parts[1], controller)
		default:
			continue
		}
		for _, dir := range []string{filepath.Join(mount, parts[2]), mount} {
			if b, err := os.ReadFile(filepath.Join(dir, file)); err == nil {
				return string(b), true
			}
		}
	}
	return "", false
}

func hasController(list, controller string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == controller {
			return true
		}
	}
	return false
}

// v1Mount finds the mount of a v1 hierarchy: "cpu,cpuacct" or "cpu".
func (d Detector) v1Mount(list, controller string) string {
	if dir := filepath.Join(d.CgroupDir, list); fileExists(dir) {
		return dir
	}
	return filepath.Join(d.CgroupDir, controller)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
