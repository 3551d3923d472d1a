package memlimit

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// MinRuntimeShare is the least part of the memory limit the Go runtime keeps
// (RuntimeLimit), however many file pages the process maps: past it, mapped
// pages are the kernel's to reclaim, not the collector's to make room for.
const MinRuntimeShare = 0.5

// RuntimeLimit returns the Go runtime's soft limit for a process that must
// stay within limit bytes of resident memory while mapped bytes of it are
// file pages the runtime does not manage (the embedded etcd's memory-mapped
// database, the executable): the rest of the limit, and never less than
// MinRuntimeShare of it. Without a limit it returns limit unchanged.
func RuntimeLimit(limit, mapped int64) int64 {
	if !Bounded(limit) || mapped <= 0 {
		return limit
	}
	return max(limit-mapped, int64(float64(limit)*MinRuntimeShare))
}

// MappedResident returns how many bytes of the process's resident memory are
// file pages and shared memory (RssFile and RssShmem of /proc/self/status):
// what the kernel counts as the process's but the Go runtime does not.
func MappedResident() (int64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	return parseMapped(data)
}

// parseMapped sums RssFile and RssShmem, given in kB, of a /proc/PID/status.
func parseMapped(status []byte) (int64, error) {
	var total int64
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "RssFile" && name != "RssShmem") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed %s in /proc/self/status: %q", name, rest)
		}
		total += kb << 10
		found++
	}
	if found == 0 {
		return 0, fmt.Errorf("/proc/self/status has neither RssFile nor RssShmem")
	}
	return total, nil
}
