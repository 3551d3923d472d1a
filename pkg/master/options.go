package master

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"meseta.dev/meseta/pkg/memlimit"
)

// Options are the master's command-line options.
type Options struct {
	// DataDir holds everything the master writes.
	DataDir string
	// MemoryLimit is the soft limit of the master process's memory, a
	// quantity such as 3584Mi; empty chooses it (see memlimit.Choose).
	MemoryLimit string
	// BindAddress and Port are where the API server listens.
	BindAddress string
	Port        int
	// AdvertiseAddress is the address clients and peers reach this master at.
	AdvertiseAddress string
	// EtcdServers selects an external etcd instead of the embedded member.
	EtcdServers []string
	// EtcdCAFile, EtcdCertFile and EtcdKeyFile secure an external etcd.
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	// EtcdClientPort and EtcdPeerPort are the embedded member's ports (0: free).
	EtcdClientPort, EtcdPeerPort int
	// EtcdName and EtcdInitialCluster make the embedded member part of a cluster.
	EtcdName, EtcdInitialCluster string
	// EtcdJoin joins an existing embedded-etcd cluster.
	EtcdJoin bool
	// LeaderElect runs the controllers only on the elected leader.
	LeaderElect bool
	// LeaderElection times the election: how long a leader's Lease lasts
	// without renewal (how soon another master takes over from one that died),
	// how long the leader keeps trying to renew, and how often candidates try.
	LeaderElection LeaderElectionTiming
	// AuditLog, when set, is the file the API server writes its audit log to.
	AuditLog string
	// Scheduling are the two-level scheduling settings.
	Scheduling SchedulingOptions
}

// LeaderElectionTiming is the timing of the masters' leader election.
type LeaderElectionTiming struct {
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// SchedulingOptions are the settings of the allocator and the lifecycle controllers.
type SchedulingOptions struct {
	// AllocationInterval is how often the allocator runs.
	AllocationInterval time.Duration
	// OfferTimeout, when non-zero, expires unused offers.
	OfferTimeout time.Duration
	// NodeTimeout is how long a node may miss heartbeats before it is unreachable.
	NodeTimeout time.Duration
	// NodeGoneTimeout is how long an unreachable node may stay so before it is
	// declared gone and its tasks Gone; zero means DefaultNodeGoneTimeout.
	NodeGoneTimeout time.Duration
	// MaxNodeHeartbeatsPerSecond bounds the Lease renewals of all agents
	// together: above it (more than 1,500 nodes at 100 a second and the
	// agents' 15s interval) the master asks agents to renew less often and
	// stretches their node timeout as much; zero leaves every agent at its
	// own pace.
	MaxNodeHeartbeatsPerSecond float64
	// MinAllocatable is the smallest offer made, as a resource spec.
	MinAllocatable string
	// Frameworks are the built-in frameworks the master runs, among
	// BuiltinFrameworks; empty runs none (they can run on their own with
	// `meseta framework NAME`).
	Frameworks []string
}

// BuiltinFrameworks are the names of the built-in frameworks, the values
// --frameworks accepts.
var BuiltinFrameworks = []string{"apps", "jobs"}

// RunsFramework reports whether the built-in framework name is to run.
func (o SchedulingOptions) RunsFramework(name string) bool {
	return slices.Contains(o.Frameworks, name)
}

// DefaultNodeGoneTimeout is the default of --node-gone-timeout.
const DefaultNodeGoneTimeout = 10 * time.Minute

// DefaultMaxNodeHeartbeatsPerSecond is the default of
// --max-node-heartbeats-per-second: a small share of the writes a master on
// two cores serves a second (each Lease renewal costs it about as much as any
// other write), so that liveness never crowds out the work.
const DefaultMaxNodeHeartbeatsPerSecond = 100

// NewOptions returns the defaults of ARCHITECTURE.md.
func NewOptions() *Options {
	return &Options{
		DataDir:     "/var/lib/meseta/master",
		BindAddress: "127.0.0.1",
		Port:        6443,
		LeaderElect: true,
		LeaderElection: LeaderElectionTiming{
			LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		},
		Scheduling: SchedulingOptions{
			AllocationInterval: time.Second,
			NodeTimeout:        75 * time.Second,
			NodeGoneTimeout:    DefaultNodeGoneTimeout,
			MinAllocatable:     "cpus:0.01;mem:32Mi",
			Frameworks:         slices.Clone(BuiltinFrameworks),

			MaxNodeHeartbeatsPerSecond: DefaultMaxNodeHeartbeatsPerSecond,
		},
	}
}

// AddFlags registers the options on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory for everything the master writes: etcd data, certificates, kubeconfigs.")
	fs.StringVar(&o.BindAddress, "bind-address", o.BindAddress, "IP address the API server listens on.")
	fs.IntVar(&o.Port, "port", o.Port, "Port of the API server (HTTPS).")
	fs.StringVar(&o.AdvertiseAddress, "advertise-address", o.AdvertiseAddress, "IP address clients and peers reach this master at (default: the bind address, or the first non-loopback address when binding all).")
	fs.StringSliceVar(&o.EtcdServers, "etcd-servers", o.EtcdServers, "Client URLs of an external etcd cluster; when set, no etcd is embedded.")
	fs.StringVar(&o.EtcdCAFile, "etcd-cafile", o.EtcdCAFile, "CA that signs the external etcd's certificates.")
	fs.StringVar(&o.EtcdCertFile, "etcd-certfile", o.EtcdCertFile, "Client certificate for the external etcd.")
	fs.StringVar(&o.EtcdKeyFile, "etcd-keyfile", o.EtcdKeyFile, "Client key for the external etcd.")
	fs.IntVar(&o.EtcdClientPort, "etcd-client-port", o.EtcdClientPort, "Client port of the embedded etcd (0: a free port, remembered in the data dir).")
	fs.IntVar(&o.EtcdPeerPort, "etcd-peer-port", o.EtcdPeerPort, "Peer port of the embedded etcd (0: a free port, remembered in the data dir).")
	fs.StringVar(&o.EtcdName, "etcd-name", o.EtcdName, "Name of the embedded etcd member (default: the host name).")
	fs.StringVar(&o.EtcdInitialCluster, "etcd-initial-cluster", o.EtcdInitialCluster, "Members of a new embedded etcd cluster as name=https://host:peerPort,... (default: this member alone).")
	fs.BoolVar(&o.EtcdJoin, "etcd-join", o.EtcdJoin, "Join an existing embedded etcd cluster instead of creating one.")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Elect a leader among masters to run the controllers.")
	fs.DurationVar(&o.LeaderElection.LeaseDuration, "leader-elect-lease-duration", o.LeaderElection.LeaseDuration, "How long the leader's Lease lasts without renewal: a master that dies is replaced after this long.")
	fs.DurationVar(&o.LeaderElection.RenewDeadline, "leader-elect-renew-deadline", o.LeaderElection.RenewDeadline, "How long the leader keeps trying to renew its Lease before it steps down; less than the lease duration.")
	fs.DurationVar(&o.LeaderElection.RetryPeriod, "leader-elect-retry-period", o.LeaderElection.RetryPeriod, "How often masters try to acquire or renew the leader's Lease; less than the renew deadline.")
	fs.StringVar(&o.MemoryLimit, "memory-limit", o.MemoryLimit, "Soft limit of the master's resident memory, e.g. 3584Mi, the embedded etcd's memory-mapped database included: near it the garbage collector works harder (more CPU) to stay within it. "+
		"Default: 90% of the memory limit of the master's cgroup when it has one, else none; GOMEMLIMIT, when set, is used instead of the default. "+
		"Under a limit, unless GOGC is set, the collector lets the heap grow to four times what is live (GOGC 300) while that stays within half the limit, and less as the live heap grows.")
	fs.StringVar(&o.AuditLog, "audit-log", o.AuditLog, "File the API server writes its audit log to (empty: no audit log).")
	fs.DurationVar(&o.Scheduling.AllocationInterval, "allocation-interval", o.Scheduling.AllocationInterval, "How often the allocator makes offers.")
	fs.DurationVar(&o.Scheduling.OfferTimeout, "offer-timeout", o.Scheduling.OfferTimeout, "Expire unused offers after this long (0: never).")
	fs.DurationVar(&o.Scheduling.NodeTimeout, "node-timeout", o.Scheduling.NodeTimeout, "A node without a heartbeat for this long is unreachable.")
	fs.DurationVar(&o.Scheduling.NodeGoneTimeout, "node-gone-timeout", o.Scheduling.NodeGoneTimeout, "An unreachable node that stays so for this long after --node-timeout is gone: its tasks become Gone.")
	fs.Float64Var(&o.Scheduling.MaxNodeHeartbeatsPerSecond, "max-node-heartbeats-per-second", o.Scheduling.MaxNodeHeartbeatsPerSecond,
		"Most Lease renewals a second of all agents together: a larger cluster is asked to renew less often, and its --node-timeout stretches as much (0: every agent keeps its own pace).")
	fs.StringVar(&o.Scheduling.MinAllocatable, "min-allocatable", o.Scheduling.MinAllocatable, "Smallest offer made, e.g. cpus:0.01;mem:32Mi.")
	o.Scheduling.AddFrameworksFlag(fs)
}

// AddFrameworksFlag registers --frameworks on fs.
func (o *SchedulingOptions) AddFrameworksFlag(fs *pflag.FlagSet) {
	fs.StringSliceVar(&o.Frameworks, "frameworks", o.Frameworks, "Built-in frameworks to run, among "+strings.Join(BuiltinFrameworks, ", ")+" (--frameworks= runs none).")
}

// CompletedOptions are options with every default filled in.
type CompletedOptions struct {
	*Options
	bindIP, advertiseIP net.IP
}

// Complete fills in defaults that depend on other options or the host.
func (o *Options) Complete() (CompletedOptions, error) {
	c := *o
	if strings.HasPrefix(c.DataDir, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return CompletedOptions{}, err
		}
		c.DataDir = filepath.Join(home, c.DataDir[2:])
	}
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if c.EtcdName == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "meseta"
		}
		c.EtcdName = host
	}
	if c.Scheduling.NodeGoneTimeout == 0 {
		c.Scheduling.NodeGoneTimeout = DefaultNodeGoneTimeout
	}
	completed := CompletedOptions{Options: &c, bindIP: net.ParseIP(c.BindAddress)}
	completed.advertiseIP = net.ParseIP(c.AdvertiseAddress)
	if completed.advertiseIP == nil && completed.bindIP != nil {
		completed.advertiseIP = completed.bindIP
		if completed.bindIP.IsUnspecified() {
			completed.advertiseIP = firstHostIP()
		}
	}
	return completed, nil
}

// Validate reports every invalid option, naming the flag.
func (c CompletedOptions) Validate() error {
	var errs field.ErrorList
	if c.DataDir == "" {
		errs = append(errs, field.Required(field.NewPath("--data-dir"), "a directory is needed"))
	}
	if c.bindIP == nil {
		errs = append(errs, field.Invalid(field.NewPath("--bind-address"), c.BindAddress, "must be an IP address"))
	}
	if c.AdvertiseAddress != "" && net.ParseIP(c.AdvertiseAddress) == nil {
		errs = append(errs, field.Invalid(field.NewPath("--advertise-address"), c.AdvertiseAddress, "must be an IP address"))
	}
	for _, p := range []struct {
		name  string
		value int
		zero  bool
	}{{"--port", c.Port, false}, {"--etcd-client-port", c.EtcdClientPort, true}, {"--etcd-peer-port", c.EtcdPeerPort, true}} {
		if p.value < 0 || p.value > 65535 || (p.value == 0 && !p.zero) {
			errs = append(errs, field.Invalid(field.NewPath(p.name), p.value, "must be a port between 1 and 65535"))
		}
	}
	for _, s := range c.EtcdServers {
		if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
			errs = append(errs, field.Invalid(field.NewPath("--etcd-servers"), s, "must be a URL starting with http:// or https://"))
		}
	}
	if len(c.EtcdServers) > 0 && (c.EtcdInitialCluster != "" || c.EtcdJoin) {
		errs = append(errs, field.Forbidden(field.NewPath("--etcd-initial-cluster"), "cannot be combined with --etcd-servers"))
	}
	if le := c.LeaderElection; le.RetryPeriod <= 0 || le.RenewDeadline <= le.RetryPeriod || le.LeaseDuration <= le.RenewDeadline {
		errs = append(errs, field.Invalid(field.NewPath("--leader-elect-lease-duration"),
			fmt.Sprintf("%v, --leader-elect-renew-deadline=%v, --leader-elect-retry-period=%v", le.LeaseDuration, le.RenewDeadline, le.RetryPeriod),
			"must satisfy lease duration > renew deadline > retry period > 0"))
	}
	if c.Scheduling.AllocationInterval <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("--allocation-interval"), c.Scheduling.AllocationInterval.String(), "must be positive"))
	}
	if c.Scheduling.OfferTimeout < 0 {
		errs = append(errs, field.Invalid(field.NewPath("--offer-timeout"), c.Scheduling.OfferTimeout.String(), "must be zero (never) or positive"))
	}
	if c.Scheduling.NodeTimeout <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("--node-timeout"), c.Scheduling.NodeTimeout.String(), "must be positive"))
	}
	if c.MemoryLimit != "" {
		if _, err := memlimit.Parse(c.MemoryLimit); err != nil {
			errs = append(errs, field.Invalid(field.NewPath("--memory-limit"), c.MemoryLimit, err.Error()))
		}
	}
	if c.Scheduling.MaxNodeHeartbeatsPerSecond < 0 {
		errs = append(errs, field.Invalid(field.NewPath("--max-node-heartbeats-per-second"),
			c.Scheduling.MaxNodeHeartbeatsPerSecond, "must be zero (no bound) or positive"))
	}
	for _, f := range c.Scheduling.Frameworks {
		if !slices.Contains(BuiltinFrameworks, f) {
			errs = append(errs, field.NotSupported(field.NewPath("--frameworks"), f, BuiltinFrameworks))
		}
	}
	if c.Scheduling.NodeGoneTimeout < 0 {
		errs = append(errs, field.Invalid(field.NewPath("--node-gone-timeout"), c.Scheduling.NodeGoneTimeout.String(), "must be positive"))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid options: %w", errs.ToAggregate())
}

// firstHostIP returns the first non-loopback IPv4 address of the host, else
// 127.0.0.1.
func firstHostIP() net.IP {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				return ipn.IP
			}
		}
	}
	return net.ParseIP("127.0.0.1")
}
