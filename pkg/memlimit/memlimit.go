package memlimit

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Minimum is the smallest limit accepted: below it a master could not even
// start.
const Minimum = 256 << 20

// CgroupShare is the part of the cgroup's memory limit that the default soft
// limit is: the rest is left to what the collector does not manage (stacks,
// the embedded etcd's mapped database) so that the kernel does not kill the
// process first.
const CgroupShare = 0.9

// unlimited is the value from which a cgroup v1 limit means none (the kernel
// writes the largest page-aligned int64).
const unlimited = 1 << 62

// Parse reads a limit such as "3584Mi" or "4G" and checks it is at least
// Minimum; its error says what is allowed, not the value (the caller names the
// flag and the value).
func Parse(value string) (int64, error) {
	q, err := resource.ParseQuantity(value)
	if err != nil {
		return 0, errors.New("must be a quantity of bytes such as 3584Mi or 4G")
	}
	n, ok := q.AsInt64()
	if !ok || n < Minimum {
		return 0, errors.New("must be at least 256Mi, the least a master needs")
	}
	return n, nil
}

// Choose returns the soft limit and where it comes from: flagValue when set;
// none when GOMEMLIMIT is set (the runtime already took it); else CgroupShare
// of the process's cgroup limit read under root, when it has one; else none
// (zero).
func Choose(flagValue, gomemlimit, root string) (int64, string, error) {
	if flagValue != "" {
		n, err := Parse(flagValue)
		return n, "--memory-limit", err
	}
	if gomemlimit != "" {
		return 0, "GOMEMLIMIT", nil
	}
	if limit, ok := CgroupLimit(root); ok {
		return int64(float64(limit) * CgroupShare), "cgroup memory limit", nil
	}
	return 0, "", nil
}

// CgroupLimit returns the memory limit of the calling process's cgroup, the
// smallest of its own and its ancestors', reading /proc/self/cgroup and the
// cgroup file systems under root; false when there is none or it cannot be
// read.
func CgroupLimit(root string) (int64, bool) {
	data, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		return 0, false
	}
	best, found := int64(0), false
	take := func(n int64, ok bool) {
		if ok && (!found || n < best) {
			best, found = n, true
		}
	}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(s.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			for _, mount := range []string{"sys/fs/cgroup", "sys/fs/cgroup/unified"} {
				take(smallest(filepath.Join(root, mount), parts[2], "memory.max"))
			}
		case hasController(parts[1], "memory"):
			take(smallest(filepath.Join(root, "sys/fs/cgroup/memory"), parts[2], "memory.limit_in_bytes"))
		}
	}
	return best, found
}

func hasController(list, name string) bool {
	for c := range strings.SplitSeq(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// smallest returns the smallest limit in file along path and its ancestors
// under mount, false when none is set.
func smallest(mount, path, file string) (int64, bool) {
	best, found := int64(0), false
	for p := filepath.Clean("/" + path); ; p = filepath.Dir(p) {
		if n, ok := readLimit(filepath.Join(mount, p, file)); ok && (!found || n < best) {
			best, found = n, true
		}
		if p == "/" {
			return best, found
		}
	}
}

// readLimit reads one limit file: "max" and values from 2^62 mean none.
func readLimit(file string) (int64, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	v := strings.TrimSpace(string(data))
	if v == "max" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n >= unlimited {
		return 0, false
	}
	return n, true
}
