package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TaskTemplate is what a task runs and with what resources: a Task's spec less
// the framework, offers and node. Apps and Jobs stamp their tasks out of one.
type TaskTemplate struct {
	// resources are what the task needs; its container is limited to them (cpu
	// shares and quota from cpus, the memory limit from mem). It must ask for
	// some cpus or mem. ports are host ports reserved for the task.
	// +required
	// +kubebuilder:validation:XValidation:rule="(has(self.cpus) && quantity(string(self.cpus)).compareTo(quantity('0')) > 0) || (has(self.mem) && quantity(string(self.mem)).compareTo(quantity('0')) > 0)",message="resources must ask for some cpus or mem"
	Resources Resources `json:"resources"`

	// container is what the task runs: an image, a command, its environment.
	// +required
	Container Container `json:"container"`

	// killGracePeriod is how long a task is given to exit after SIGTERM before it
	// gets SIGKILL, when it is killed. Defaults to 3s, as in Mesos.
	// +optional
	// +kubebuilder:default="3s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+)$`
	KillGracePeriod *metav1.Duration `json:"killGracePeriod,omitempty"`

	// healthCheck, when set, is run by the agent against the running task; its
	// result is status.healthy. A task that fails consecutiveFailures checks in a
	// row after its grace period is killed.
	// +optional
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
}

// Container is the process a task runs and the filesystem it runs in.
// +kubebuilder:validation:XValidation:rule="(has(self.image) && self.image.size() > 0) || (has(self.command) && self.command.size() > 0)",message="command is required when no image is given",fieldPath=".command"
type Container struct {
	// image is the task's root filesystem, one of:
	// "oci:PATH", an OCI image layout directory or tarball on the agent (for
	// example "oci:/var/lib/meseta/images/busybox");
	// a registry reference such as "registry.example:5000/busybox:1.36" or
	// "busybox@sha256:..." (pulled by the agent);
	// or empty, for the host's root filesystem mounted read-only (trusted tools
	// only; command is then required).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^(oci:[^\s]+|[a-zA-Z0-9][-a-zA-Z0-9._/:@+]*)?$`
	Image string `json:"image,omitempty"`

	// command is the program and its arguments, executed without a shell (use
	// ["sh", "-c", "..."] for one). When empty, the image's entrypoint runs.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=65536
	Command []string `json:"command,omitempty"`

	// args are arguments appended to command, or to the image's entrypoint when
	// command is empty (replacing the image's default arguments).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=65536
	Args []string `json:"args,omitempty"`

	// env are environment variables set in the container, on top of the image's.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=256
	Env []EnvVar `json:"env,omitempty"`

	// workingDir is the absolute path the command starts in. Defaults to the
	// image's working directory, or the sandbox (/mnt/sandbox) when there is none.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:Pattern=`^/`
	WorkingDir string `json:"workingDir,omitempty"`

	// user is the numeric user, and optionally group, the command runs as: "UID"
	// or "UID:GID". Defaults to the image's user, or root.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[0-9]+(:[0-9]+)?$`
	User string `json:"user,omitempty"`
}

// EnvVar is an environment variable.
type EnvVar struct {
	// name is the variable's name: letters, digits, "_", "-" and ".", not
	// beginning with a digit.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z][-._a-zA-Z0-9]*$`
	Name string `json:"name"`

	// value is the variable's value; empty when unset.
	// +optional
	// +kubebuilder:validation:MaxLength=32768
	Value string `json:"value,omitempty"`
}

// HealthCheckType is the kind of a health check.
// +kubebuilder:validation:Enum=Command;HTTP;TCP
type HealthCheckType string

// Health check types.
const (
	// HealthCheckCommand runs healthCheck.command inside the task's container;
	// exit status 0 is healthy.
	HealthCheckCommand HealthCheckType = "Command"
	// HealthCheckHTTP sends an HTTP GET to healthCheck.http on the node; a status
	// from 200 to 399 is healthy.
	HealthCheckHTTP HealthCheckType = "HTTP"
	// HealthCheckTCP opens a TCP connection to healthCheck.tcp.port on the node;
	// a connection is healthy.
	HealthCheckTCP HealthCheckType = "TCP"
)

// HealthCheck says how and how often the agent checks a running task. The
// timing defaults are Mesos': the first check after delay, then every interval,
// each failing after timeout; failures during the gracePeriod after the task
// started do not count.
// +kubebuilder:validation:XValidation:rule="self.type == 'Command' ? has(self.command) : !has(self.command)",message="command must be set when type is Command, and only then",fieldPath=".command"
// +kubebuilder:validation:XValidation:rule="self.type == 'HTTP' ? has(self.http) : !has(self.http)",message="http must be set when type is HTTP, and only then",fieldPath=".http"
// +kubebuilder:validation:XValidation:rule="self.type == 'TCP' ? has(self.tcp) : !has(self.tcp)",message="tcp must be set when type is TCP, and only then",fieldPath=".tcp"
type HealthCheck struct {
	// type is the kind of check: Command, HTTP or TCP. The field of the same name
	// (command, http, tcp) must be set, and no other.
	// +required
	Type HealthCheckType `json:"type"`

	// command is the program and arguments a Command check runs in the task's
	// container, without a shell.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=65536
	Command []string `json:"command,omitempty"`

	// http is where an HTTP check sends its request.
	// +optional
	HTTP *HTTPHealthCheck `json:"http,omitempty"`

	// tcp is where a TCP check connects.
	// +optional
	TCP *TCPHealthCheck `json:"tcp,omitempty"`

	// delay is how long after the task starts the first check runs. Defaults to
	// 15s.
	// +optional
	// +kubebuilder:default="15s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+)$`
	Delay *metav1.Duration `json:"delay,omitempty"`

	// interval is the time between two checks; more than zero. Defaults to 10s.
	// +optional
	// +kubebuilder:default="10s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+)$`
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="interval must be more than zero"
	Interval *metav1.Duration `json:"interval,omitempty"`

	// timeout is how long one check may take before it counts as failed; more
	// than zero. Defaults to 20s.
	// +optional
	// +kubebuilder:default="20s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+)$`
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="timeout must be more than zero"
	Timeout *metav1.Duration `json:"timeout,omitempty"`

	// consecutiveFailures is how many failed checks in a row, after the grace
	// period, make the agent kill the task. Defaults to 3.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	ConsecutiveFailures *int32 `json:"consecutiveFailures,omitempty"`

	// gracePeriod is how long after the task starts failed checks are ignored
	// (they still set status.healthy). Defaults to 10s.
	// +optional
	// +kubebuilder:default="10s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+)$`
	GracePeriod *metav1.Duration `json:"gracePeriod,omitempty"`
}

// HTTPScheme is the scheme of an HTTP health check.
// +kubebuilder:validation:Enum=HTTP;HTTPS
type HTTPScheme string

// HTTP health check schemes.
const (
	// HTTPSchemeHTTP is plain HTTP.
	HTTPSchemeHTTP HTTPScheme = "HTTP"
	// HTTPSchemeHTTPS is HTTP over TLS; the certificate is not verified.
	HTTPSchemeHTTPS HTTPScheme = "HTTPS"
)

// HTTPHealthCheck is the target of an HTTP health check, on the task's node.
type HTTPHealthCheck struct {
	// port is the port the task listens on.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`

	// path is the request path. Defaults to "/".
	// +optional
	// +kubebuilder:default="/"
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^/`
	Path string `json:"path,omitempty"`

	// scheme is HTTP or HTTPS. Defaults to HTTP.
	// +optional
	// +kubebuilder:default=HTTP
	Scheme HTTPScheme `json:"scheme,omitempty"`
}

// TCPHealthCheck is the target of a TCP health check, on the task's node.
type TCPHealthCheck struct {
	// port is the port the task listens on.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
}
