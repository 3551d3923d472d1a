package runtime

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupRoot is where cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// unifiedHost tells whether the host runs cgroup v2 only.
func unifiedHost() bool {
	_, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers"))
	return err == nil
}

// MemoryCgroupDir returns the memory cgroup directory of a process: on a cgroup v2
// host its unified cgroup, on a v1 (or hybrid) host its memory hierarchy cgroup.
func MemoryCgroupDir(pid int) (string, error) {
	return controllerDir(pid, "memory")
}

// controllerDir finds the cgroup directory of a process for a v1 controller, or
// its unified cgroup on a v2 host.
func controllerDir(pid int, controller string) (string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	unified := unifiedHost()
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if unified && parts[0] == "0" {
			return filepath.Join(cgroupRoot, parts[2]), nil
		}
		if !unified && hasController(parts[1], controller) {
			return filepath.Join(cgroupRoot, parts[1], parts[2]), nil
		}
	}
	return "", fmt.Errorf("process %d has no %s cgroup", pid, controller)
}

func hasController(list, controller string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == controller {
			return true
		}
	}
	return false
}

// CgroupDirs returns the cgroup directories of a container's cgroups path (the
// spec's linux.cgroupsPath) by controller; on a cgroup v2 host every controller
// maps to the one unified directory.
func CgroupDirs(cgroupsPath string) map[string]string {
	out := map[string]string{}
	for _, c := range []string{"cpu", "memory", "pids"} {
		if unifiedHost() {
			out[c] = filepath.Join(cgroupRoot, cgroupsPath)
		} else {
			out[c] = filepath.Join(cgroupRoot, c, cgroupsPath)
		}
	}
	return out
}

// writeCFSQuota sets the CFS quota (microseconds per period) of the cpu
// cgroup directory dir: cpu.max on a cgroup v2 host (its period unchanged),
// cpu.cfs_quota_us on v1.
func writeCFSQuota(dir, quota string) error {
	file := "cpu.cfs_quota_us"
	if unifiedHost() {
		file = "cpu.max"
	}
	return os.WriteFile(filepath.Join(dir, file), []byte(quota), 0)
}

// OOMKills reads how many processes the OOM killer killed in a memory cgroup:
// "oom_kill" of memory.events (v2) or memory.oom_control (v1).
func OOMKills(memoryDir string) (int64, error) {
	for _, file := range []string{"memory.events", "memory.oom_control"} {
		data, err := os.ReadFile(filepath.Join(memoryDir, file))
		if err != nil {
			continue
		}
		return readKey(data, "oom_kill"), nil
	}
	return 0, fmt.Errorf("no memory.events or memory.oom_control in %s", memoryDir)
}

func readKey(data []byte, key string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// processStartTime reads a process's start time (clock ticks since boot, field
// 22 of /proc/PID/stat), which tells a process from a later one with its PID.
func processStartTime(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces and parentheses: skip past its
	// last ")".
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}
