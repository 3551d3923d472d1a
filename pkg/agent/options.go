package agent

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/rest"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/hostresources"
	"meseta.dev/meseta/pkg/agent/node"
)

// Defaults of the agent's options.
const (
	DefaultWorkDir        = "/var/lib/meseta/agent"
	DefaultPort           = 10250
	DefaultSandboxGCDelay = time.Hour
	DefaultImageGCDelay   = time.Hour
	DefaultGCInterval     = time.Minute
	DefaultConcurrency    = 16
)

// Options are the agent's options, as `meseta agent` takes them.
type Options struct {
	// Kubeconfig is the kubeconfig the agent reaches the API server with.
	Kubeconfig string
	// RESTConfig, when set, is used instead of Kubeconfig (an agent inside the
	// `meseta dev` process or a test).
	RESTConfig *rest.Config
	// Join, instead of Kubeconfig, joins the cluster with a bootstrap token.
	Join JoinOptions
	// NodeName is the name of the node; default the host name.
	NodeName string
	// WorkDir holds everything the agent writes: task directories, images,
	// the runtime's state, the serving certificate.
	WorkDir string
	// Resources overrides the detected resources (Mesos or Kubernetes syntax).
	Resources string
	// Attributes are the node's attributes, "rack:r1;zone:a".
	Attributes string
	// Runtime is the OCI runtime binary; default runc beside the meseta binary,
	// then on PATH.
	Runtime string
	// InsecureRegistries are reached over plain HTTP.
	InsecureRegistries []string
	// Address is the address published in the Node's status; default the local
	// address that reaches the API server.
	Address string
	// BindAddress is the IP the agent's HTTPS endpoint listens on.
	BindAddress string
	// Port is the port of the agent's HTTPS endpoint (logs); 0 picks a free one.
	Port int
	// HeartbeatInterval is the time between Lease renewals.
	HeartbeatInterval time.Duration
	// LeaseDuration is the Lease's leaseDurationSeconds.
	LeaseDuration time.Duration
	// NodeStatusInterval is the longest time between Node status updates.
	NodeStatusInterval time.Duration
	// SandboxGCDelay is how long the sandbox of a finished task is kept.
	SandboxGCDelay time.Duration
	// ImageGCDelay is how long an unused image layer is kept.
	ImageGCDelay time.Duration
	// GCInterval is the time between garbage collections (and full resyncs).
	GCInterval time.Duration
	// Concurrency is how many tasks are reconciled at once.
	Concurrency int
	// ParallelStarts is how many containers are started at once (0: no
	// limit).
	ParallelStarts int
	// KillTasksOnExit kills every task, reported Killed, when the agent stops
	// (`meseta dev`); otherwise containers keep running and the next agent
	// re-adopts them.
	KillTasksOnExit bool
}

// NewOptions returns the default options.
func NewOptions() *Options {
	return &Options{
		WorkDir:            DefaultWorkDir,
		BindAddress:        "0.0.0.0",
		Port:               DefaultPort,
		HeartbeatInterval:  node.DefaultInterval,
		LeaseDuration:      node.DefaultLeaseDuration,
		NodeStatusInterval: node.DefaultStatusInterval,
		SandboxGCDelay:     DefaultSandboxGCDelay,
		ImageGCDelay:       DefaultImageGCDelay,
		GCInterval:         DefaultGCInterval,
		Concurrency:        DefaultConcurrency,
		ParallelStarts:     DefaultParallelStarts(),
	}
}

// DefaultParallelStarts is how many containers an agent starts at once by
// default: two per CPU. A runtime's start is mostly CPU work; more at once
// only makes each slower.
func DefaultParallelStarts() int { return 2 * goruntime.NumCPU() }

// AddFlags adds the options' flags to fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig of the agent's identity (required unless the agent joins with a bootstrap token).")
	o.Join.addFlags(fs)
	fs.StringVar(&o.NodeName, "node-name", o.NodeName, "Name of the node (default: the host name).")
	fs.StringVar(&o.WorkDir, "work-dir", o.WorkDir, "Directory for task sandboxes, images and the runtime's state.")
	fs.StringVar(&o.Resources, "resources", o.Resources, `Resources of the node, overriding detection: Mesos syntax "cpus:2;mem:4096;disk:10000;ports:[31000-32000]" (mem and disk in MB) or Kubernetes quantities "cpus:500m;mem:4Gi". Resources given here are offered whole; detected ones keep a reserve for the system.`)
	fs.StringVar(&o.Attributes, "attributes", o.Attributes, `Attributes of the node, "rack:r1;zone:a".`)
	fs.StringVar(&o.Runtime, "runtime", o.Runtime, "OCI runtime binary (default: runc beside the meseta binary, then on PATH).")
	fs.StringSliceVar(&o.InsecureRegistries, "insecure-registry", o.InsecureRegistries, "Registry HOST:PORT to pull from over plain HTTP (repeatable).")
	fs.StringVar(&o.Address, "address", o.Address, "Address published for the node's tasks and the agent's endpoint (default: the local address that reaches the API server).")
	fs.StringVar(&o.BindAddress, "bind-address", o.BindAddress, "IP address the agent's HTTPS endpoint (task logs) listens on.")
	fs.IntVar(&o.Port, "port", o.Port, "Port of the agent's HTTPS endpoint (task logs); 0 picks a free port.")
	fs.DurationVar(&o.HeartbeatInterval, "heartbeat-interval", o.HeartbeatInterval, "Time between renewals of the node's Lease.")
	fs.DurationVar(&o.LeaseDuration, "lease-duration", o.LeaseDuration, "leaseDurationSeconds of the node's Lease.")
	fs.DurationVar(&o.NodeStatusInterval, "node-status-interval", o.NodeStatusInterval, "Longest time between updates of an unchanged Node status (each wait drawn between half of it and all of it; stretched as the renewals are when the master paces them).")
	fs.DurationVar(&o.SandboxGCDelay, "sandbox-gc-delay", o.SandboxGCDelay, "How long the sandbox (and output) of a finished task is kept.")
	fs.DurationVar(&o.ImageGCDelay, "image-gc-delay", o.ImageGCDelay, "How long an unused image layer is kept.")
	fs.DurationVar(&o.GCInterval, "gc-interval", o.GCInterval, "Time between garbage collections of sandboxes and images.")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "How many tasks are reconciled at once.")
	fs.IntVar(&o.ParallelStarts, "parallel-starts", o.ParallelStarts, "How many containers are started at once (0: no limit). Default: two per CPU.")
}

// CompletedOptions are options with every default filled in.
type CompletedOptions struct {
	*Options
}

// Complete fills in the defaults that depend on the host: the node name, the
// absolute work dir and the runtime.
func (o *Options) Complete() (CompletedOptions, error) {
	c := *o
	if c.NodeName == "" {
		host, err := os.Hostname()
		if err != nil {
			return CompletedOptions{}, fmt.Errorf("--node-name: the host name is unknown (%w); give a node name", err)
		}
		c.NodeName = strings.ToLower(host)
	}
	if c.WorkDir != "" {
		abs, err := filepath.Abs(c.WorkDir)
		if err != nil {
			return CompletedOptions{}, fmt.Errorf("--work-dir: %w", err)
		}
		c.WorkDir = abs
	}
	if c.Runtime == "" {
		c.Runtime = defaultRuntime()
	}
	c.InsecureRegistries = append([]string(nil), c.InsecureRegistries...)
	return CompletedOptions{Options: &c}, nil
}

// defaultRuntime is runc beside the running binary, else runc on PATH.
func defaultRuntime() string {
	if exe, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(exe), "runc")
		if fi, err := os.Stat(beside); err == nil && !fi.IsDir() {
			return beside
		}
	}
	if p, err := exec.LookPath("runc"); err == nil {
		return p
	}
	return "runc"
}

// Validate reports every invalid option, naming its flag.
func (c CompletedOptions) Validate() error {
	var errs field.ErrorList
	flag := field.NewPath
	errs = append(errs, c.validateJoin()...)
	if c.RESTConfig == nil && !c.Join.joining() {
		if c.Kubeconfig == "" {
			errs = append(errs, field.Required(flag("--kubeconfig"), "the agent needs a kubeconfig to reach the API server"))
		} else if _, err := os.Stat(c.Kubeconfig); err != nil {
			errs = append(errs, field.Invalid(flag("--kubeconfig"), c.Kubeconfig, err.Error()))
		}
	}
	for _, msg := range validation.IsDNS1123Subdomain(c.NodeName) {
		errs = append(errs, field.Invalid(flag("--node-name"), c.NodeName, msg))
	}
	if c.WorkDir == "" {
		errs = append(errs, field.Required(flag("--work-dir"), "a directory is needed"))
	}
	if _, err := hostresources.ParseResources(c.Resources); err != nil {
		errs = append(errs, field.Invalid(flag("--resources"), c.Resources, err.Error()))
	}
	if _, err := hostresources.ParseAttributes(c.Attributes); err != nil {
		errs = append(errs, field.Invalid(flag("--attributes"), c.Attributes, err.Error()))
	}
	if err := checkExecutable(c.Runtime); err != nil {
		errs = append(errs, field.Invalid(flag("--runtime"), c.Runtime, err.Error()))
	}
	for _, r := range c.InsecureRegistries {
		if err := checkRegistry(r); err != nil {
			errs = append(errs, field.Invalid(flag("--insecure-registry"), r, err.Error()))
		}
	}
	if c.Address != "" && net.ParseIP(c.Address) == nil && len(validation.IsDNS1123Subdomain(c.Address)) > 0 {
		errs = append(errs, field.Invalid(flag("--address"), c.Address, "must be an IP address or a DNS name"))
	}
	if net.ParseIP(c.BindAddress) == nil {
		errs = append(errs, field.Invalid(flag("--bind-address"), c.BindAddress, "must be an IP address"))
	}
	if c.Port < 0 || c.Port > 65535 {
		errs = append(errs, field.Invalid(flag("--port"), c.Port, "must be a port between 1 and 65535, or 0 for a free one"))
	}
	errs = append(errs, c.validateDurations()...)
	if c.Concurrency < 1 {
		errs = append(errs, field.Invalid(flag("--concurrency"), c.Concurrency, "must be at least 1"))
	}
	if c.ParallelStarts < 0 {
		errs = append(errs, field.Invalid(flag("--parallel-starts"), c.ParallelStarts, "must be 0 (no limit) or more"))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid options: %w", errs.ToAggregate())
}

func (c CompletedOptions) validateDurations() field.ErrorList {
	var errs field.ErrorList
	for _, d := range []struct {
		flag  string
		value time.Duration
	}{
		{"--heartbeat-interval", c.HeartbeatInterval}, {"--lease-duration", c.LeaseDuration},
		{"--node-status-interval", c.NodeStatusInterval}, {"--gc-interval", c.GCInterval},
	} {
		if d.value <= 0 {
			errs = append(errs, field.Invalid(field.NewPath(d.flag), d.value.String(), "must be positive"))
		}
	}
	if c.LeaseDuration > 0 && c.LeaseDuration < 2*c.HeartbeatInterval {
		errs = append(errs, field.Invalid(field.NewPath("--lease-duration"), c.LeaseDuration.String(),
			fmt.Sprintf("must be at least twice --heartbeat-interval (%s)", c.HeartbeatInterval)))
	}
	if c.LeaseDuration%time.Second != 0 {
		errs = append(errs, field.Invalid(field.NewPath("--lease-duration"), c.LeaseDuration.String(), "must be whole seconds"))
	}
	for _, d := range []struct {
		flag  string
		value time.Duration
	}{{"--sandbox-gc-delay", c.SandboxGCDelay}, {"--image-gc-delay", c.ImageGCDelay}} {
		if d.value < 0 {
			errs = append(errs, field.Invalid(field.NewPath(d.flag), d.value.String(), "must not be negative"))
		}
	}
	return errs
}

func checkExecutable(path string) error {
	p := path
	if !strings.Contains(p, "/") {
		found, err := exec.LookPath(p)
		if err != nil {
			return fmt.Errorf("not found on PATH; build it with `make bin/runc` or give its path")
		}
		p = found
	}
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("is not an executable file")
	}
	return nil
}

func checkRegistry(r string) error {
	host, port, err := net.SplitHostPort(r)
	if err != nil {
		host, port = r, ""
	}
	if host == "" || strings.ContainsAny(host, "/ ") {
		return fmt.Errorf("must be HOST or HOST:PORT")
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port must be between 1 and 65535")
		}
	}
	return nil
}

// resourcesFor returns the node's capacity (detected, overridden by given) and
// allocatable: the capacity less the system's reserve (DefaultReserve) of the
// resources that were detected; resources given with --resources are
// allocatable whole.
func resourcesFor(detected, given v1alpha1.Resources) (capacity, allocatable v1alpha1.Resources) {
	capacity = hostresources.Override(detected, given)
	reserve := hostresources.DefaultReserve(capacity)
	if given.Cpus != nil {
		reserve.Cpus = nil
	}
	if given.Mem != nil {
		reserve.Mem = nil
	}
	if given.Disk != nil {
		reserve.Disk = nil
	}
	if given.Gpus != nil {
		reserve.Gpus = nil
	}
	return capacity, hostresources.Subtract(capacity, reserve)
}
