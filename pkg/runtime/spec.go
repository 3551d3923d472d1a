package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"meseta.dev/meseta/apis/v1alpha1"
)

// SandboxPath is where a task's sandbox directory appears inside its container.
const SandboxPath = "/mnt/sandbox"

// DefaultPath is the PATH a task gets when neither its image nor the task sets one.
const DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Defaults of a task container.
const (
	// DefaultCgroupParent is the cgroup under which every task's cgroup is made.
	DefaultCgroupParent = "/meseta"
	// DefaultPidsLimit caps the number of processes of a task.
	DefaultPidsLimit = 4096
	// DefaultCFSPeriod is the CFS period in microseconds.
	DefaultCFSPeriod = 100000
	// StartCFSQuota is the least CFS quota (per DefaultCFSPeriod) a container
	// starts with. The runtime's own set-up runs in the container's cgroup
	// and takes 10-20 ms of CPU: under a task's quota of, say, 1 ms (0.01
	// cpus) it would be throttled for half a second. A container whose quota
	// is lower starts with this one and gets its own right after it started
	// (AnnotationCFSQuota).
	StartCFSQuota = 25000
	// DefaultNoFile is the soft and hard limit of open files.
	DefaultNoFile = 65536
)

// NetworkMode says which network a task's container uses.
type NetworkMode string

// Network modes.
const (
	// NetworkHost shares the host's network namespace (the default, as in Mesos).
	NetworkHost NetworkMode = "host"
	// NetworkNone gives the task its own network namespace with only loopback.
	NetworkNone NetworkMode = "none"
)

// DefaultCapabilities are the capabilities a task's processes keep (the set
// container engines grant by default). The ambient set stays empty.
var DefaultCapabilities = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// maskedPaths hide kernel interfaces that leak host information or are dangerous.
var maskedPaths = []string{
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/sys/firmware", "/sys/devices/virtual/powercap",
}

// readonlyPaths are kernel interfaces a task may read but not write.
var readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}

// User is the identity a task's process runs as.
type User struct {
	// UID is the user ID.
	UID uint32
	// GID is the primary group ID.
	GID uint32
	// AdditionalGids are supplementary group IDs.
	AdditionalGids []uint32
}

// Limits are the cgroup limits of a task.
type Limits struct {
	// MilliCPUs is the task's CPU in thousandths of a CPU: cpu shares are
	// 1024*cpus and the CFS quota is cpus*period. 0 means no CPU limit.
	MilliCPUs int64
	// MemoryBytes is the memory limit; memory plus swap is limited to the same, so
	// the task cannot swap. 0 means no memory limit.
	MemoryBytes int64
	// Pids caps the number of processes; 0 means DefaultPidsLimit.
	Pids int64
}

// LimitsFromResources converts a task's resources into cgroup limits.
func LimitsFromResources(r v1alpha1.Resources) Limits {
	var l Limits
	if r.Cpus != nil {
		l.MilliCPUs = r.Cpus.MilliValue()
	}
	if r.Mem != nil {
		l.MemoryBytes = r.Mem.Value()
	}
	return l
}

// Config is what BuildSpec needs to know of a task.
type Config struct {
	// ID is the container's ID, unique on the node; it is also its cgroup's name.
	ID string
	// Rootfs is the directory of the root file system (see package image).
	Rootfs string
	// RootfsReadOnly mounts the root read-only (the host root); the container then
	// gets a private tmpfs on /tmp.
	RootfsReadOnly bool
	// Args is the command and its arguments; required.
	Args []string
	// Env is the environment, NAME=VALUE; PATH defaults to DefaultPath.
	Env []string
	// Cwd is the working directory; default SandboxPath.
	Cwd string
	// User is who the process runs as; default root.
	User User
	// Hostname is the container's host name (it has its own UTS namespace);
	// default the ID, cut to 63 characters.
	Hostname string
	// SandboxDir is the host directory bind-mounted at SandboxPath; required.
	SandboxDir string
	// Network is the network mode; default NetworkHost.
	Network NetworkMode
	// Limits are the cgroup limits.
	Limits Limits
	// CgroupParent is the parent cgroup; default DefaultCgroupParent.
	CgroupParent string
	// Annotations are stored with the container, for example the task it runs;
	// the runtime's state and List report them.
	Annotations map[string]string
	// NoFile is the open-files limit; default DefaultNoFile, or the agent's own
	// hard limit when that is lower (raising it needs CAP_SYS_RESOURCE).
	NoFile uint64
	// Mounts are extra mounts, after the standard ones.
	Mounts []specs.Mount
}

var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$`)

func (c Config) validate() error {
	var errs []error
	if !validID.MatchString(c.ID) {
		errs = append(errs, fmt.Errorf("id %q must be 1-128 letters, digits, '_', '.', '+' or '-', beginning with a letter or digit", c.ID))
	}
	if !filepath.IsAbs(c.Rootfs) {
		errs = append(errs, fmt.Errorf("rootfs %q must be an absolute path", c.Rootfs))
	}
	if !filepath.IsAbs(c.SandboxDir) {
		errs = append(errs, fmt.Errorf("sandbox dir %q must be an absolute path", c.SandboxDir))
	}
	if len(c.Args) == 0 || c.Args[0] == "" {
		errs = append(errs, errors.New("args must name a command: neither the task nor its image has one"))
	}
	if c.Network != "" && c.Network != NetworkHost && c.Network != NetworkNone {
		errs = append(errs, fmt.Errorf("network %q must be %q or %q", c.Network, NetworkHost, NetworkNone))
	}
	if c.Limits.MilliCPUs < 0 || c.Limits.MemoryBytes < 0 || c.Limits.Pids < 0 {
		errs = append(errs, errors.New("limits must not be negative"))
	}
	return errors.Join(errs...)
}

// BuildSpec builds the OCI runtime spec of a task: its own pid, mount, ipc and uts
// namespaces (and network, unless NetworkHost); /proc, /dev, /sys and the sandbox
// mounted; the default capabilities with an empty ambient set; no new
// privileges; masked and read-only kernel paths; an open-files limit; and cgroup
// limits under CgroupParent/ID.
func BuildSpec(c Config) (*specs.Spec, error) {
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("invalid container config: %w", err)
	}
	c = c.withDefaults()
	return &specs.Spec{
		Version:     specs.Version,
		Root:        &specs.Root{Path: c.Rootfs, Readonly: c.RootfsReadOnly},
		Process:     c.process(),
		Hostname:    c.Hostname,
		Mounts:      c.mounts(),
		Annotations: c.annotations(),
		Linux:       c.linux(),
	}, nil
}

// AnnotationCFSQuota, on a spec whose CFS quota is StartCFSQuota, is the
// quota (microseconds per DefaultCFSPeriod) the runtime sets once the
// container started.
const AnnotationCFSQuota = "meseta.dev/cfs-quota"

// cfsQuota is the task's CFS quota, 0 for none.
func (c Config) cfsQuota() int64 {
	if c.Limits.MilliCPUs <= 0 {
		return 0
	}
	return max(1000, c.Limits.MilliCPUs*DefaultCFSPeriod/1000)
}

// annotations are the config's annotations and, when the container starts
// with a larger quota than its own, AnnotationCFSQuota.
func (c Config) annotations() map[string]string {
	q := c.cfsQuota()
	if q == 0 || q >= StartCFSQuota {
		return c.Annotations
	}
	a := maps.Clone(c.Annotations)
	if a == nil {
		a = map[string]string{}
	}
	a[AnnotationCFSQuota] = strconv.FormatInt(q, 10)
	return a
}

func (c Config) withDefaults() Config {
	if c.Cwd == "" {
		c.Cwd = SandboxPath
	}
	if c.Hostname == "" {
		c.Hostname = c.ID[:min(len(c.ID), 63)]
	}
	if c.Network == "" {
		c.Network = NetworkHost
	}
	if c.CgroupParent == "" {
		c.CgroupParent = DefaultCgroupParent
	}
	if c.Limits.Pids == 0 {
		c.Limits.Pids = DefaultPidsLimit
	}
	if c.NoFile == 0 {
		c.NoFile = defaultNoFile()
	}
	if !slices.ContainsFunc(c.Env, func(kv string) bool { return strings.HasPrefix(kv, "PATH=") }) {
		c.Env = append(slices.Clone(c.Env), DefaultPath)
	}
	return c
}

func (c Config) process() *specs.Process {
	caps := slices.Clone(DefaultCapabilities)
	return &specs.Process{
		Args: slices.Clone(c.Args),
		Env:  c.Env,
		Cwd:  c.Cwd,
		User: specs.User{UID: c.User.UID, GID: c.User.GID, AdditionalGids: c.User.AdditionalGids},
		Capabilities: &specs.LinuxCapabilities{
			Bounding: caps, Effective: caps, Permitted: caps,
		},
		Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: c.NoFile, Soft: c.NoFile}},
		NoNewPrivileges: true,
	}
}

func (c Config) mounts() []specs.Mount {
	m := []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
	}
	if c.RootfsReadOnly {
		// The host root already holds the host's /sys (read-only); a new sysfs
		// cannot be mounted over it (EBUSY), so it is bound instead.
		m = append(m, specs.Mount{Destination: "/sys", Type: "bind", Source: "/sys", Options: []string{"rbind", "ro", "nosuid", "noexec", "nodev"}})
	} else {
		m = append(m,
			specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}})
	}
	m = append(m,
		specs.Mount{Destination: SandboxPath, Type: "bind", Source: c.SandboxDir, Options: []string{"rbind", "rw", "nosuid", "nodev"}})
	if c.RootfsReadOnly {
		m = append(m, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=65536k"}})
	} else if c.Network == NetworkHost {
		// The host's name resolution, read-only, as the host network needs it.
		for _, f := range []string{"/etc/resolv.conf", "/etc/hosts"} {
			if _, err := os.Stat(f); err == nil {
				m = append(m, specs.Mount{Destination: f, Type: "bind", Source: f, Options: []string{"bind", "ro", "nosuid", "nodev", "noexec"}})
			}
		}
	}
	return append(m, c.Mounts...)
}

func (c Config) linux() *specs.Linux {
	ns := []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace}}
	if c.Network == NetworkNone {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	return &specs.Linux{
		Namespaces:    ns,
		CgroupsPath:   filepath.Join(c.CgroupParent, c.ID),
		Resources:     c.resources(),
		MaskedPaths:   slices.Clone(maskedPaths),
		ReadonlyPaths: slices.Clone(readonlyPaths),
	}
}

func (c Config) resources() *specs.LinuxResources {
	r := &specs.LinuxResources{
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, // the runtime adds the standard devices
		Pids:    &specs.LinuxPids{Limit: &c.Limits.Pids},
	}
	if milli := c.Limits.MilliCPUs; milli > 0 {
		shares := uint64(max(2, milli*1024/1000))
		period := uint64(DefaultCFSPeriod)
		quota := max(c.cfsQuota(), StartCFSQuota)
		r.CPU = &specs.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period}
	}
	if mem := c.Limits.MemoryBytes; mem > 0 {
		limit, swap := mem, mem
		r.Memory = &specs.LinuxMemory{Limit: &limit, Swap: &swap}
	}
	return r
}

// defaultNoFile is DefaultNoFile capped at this process's hard limit.
func defaultNoFile() uint64 {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil && rl.Max < DefaultNoFile {
		return rl.Max
	}
	return DefaultNoFile
}

// WriteBundle writes spec as dir/config.json, creating dir; dir is then an OCI
// bundle for Runtime.Run.
func WriteBundle(dir string, spec *specs.Spec) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "config.json.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "config.json"))
}
