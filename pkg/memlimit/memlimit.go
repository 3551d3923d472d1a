package memlimit

import (
	"errors"

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

// FromGOMEMLIMIT is the source Choose gives when GOMEMLIMIT is set.
const FromGOMEMLIMIT = "GOMEMLIMIT"

// Choose returns the soft limit and where it comes from: flagValue when set;
// none when GOMEMLIMIT is set (the runtime already took it); else CgroupShare
// of the process's cgroup memory limit, when cgroupLimit finds one; else none
// (zero).
func Choose(flagValue, gomemlimit string, cgroupLimit func() (int64, bool)) (int64, string, error) {
	if flagValue != "" {
		n, err := Parse(flagValue)
		return n, "--memory-limit", err
	}
	if gomemlimit != "" {
		return 0, FromGOMEMLIMIT, nil
	}
	if limit, ok := cgroupLimit(); ok {
		return int64(float64(limit) * CgroupShare), "cgroup memory limit", nil
	}
	return 0, "", nil
}
