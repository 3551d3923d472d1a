package sdk

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Labels and defaults of the SDK.
const (
	// LabelFramework is set on every Task the SDK creates to the name of the
	// Framework that launched it, so a framework's tasks can be selected with a
	// label selector as well as by spec.framework.
	LabelFramework = "meseta.dev/framework"

	// DefaultLeaseDuration is how long a Lease renewal keeps the framework
	// active (the Lease's leaseDurationSeconds).
	DefaultLeaseDuration = 15 * time.Second
	// DefaultRenewInterval is how often the Lease is renewed.
	DefaultRenewInterval = 3 * time.Second
	// DefaultOfferBatchDelay is how long the driver waits after the first new
	// offer or event for more to arrive before it calls ResourceOffers.
	DefaultOfferBatchDelay = 50 * time.Millisecond
	// DefaultRefuseSeconds is the refuse time of a Decline that does not set one
	// (the master's default, as in Mesos).
	DefaultRefuseSeconds int32 = 5
)

// Framework is how a framework registers: the Framework object's name,
// namespace and spec, and how the driver keeps its Lease. Only Name and
// Namespace are required.
type Framework struct {
	// Name is the name of the Framework object and of its Lease. Required.
	Name string
	// Namespace is where the Framework, its Lease, its offers and its tasks
	// live. Required.
	Namespace string
	// Role is the DRF role (spec.role); empty means the namespace. It cannot
	// change once the Framework exists: adopting a Framework with another role
	// is an error.
	Role string
	// FailoverTimeout is how long the master keeps the framework's tasks while
	// no process holds its Lease (spec.failoverTimeout); zero leaves the API's
	// default (10m). Use a negative value to ask for 0s (tear down at once).
	FailoverTimeout time.Duration
	// Capabilities are optional behaviours asked for (spec.capabilities).
	Capabilities []v1alpha1.FrameworkCapability
	// MinAllocatable is the smallest offer the framework wants
	// (spec.minAllocatable); nil leaves the master's default.
	MinAllocatable *v1alpha1.Resources
	// Suppressed starts the framework with offers suppressed
	// (spec.suppressed); Revive or Suppress(false) asks for offers later.
	Suppressed bool

	// Identity names this process in the Lease's holderIdentity; it must differ
	// between processes. Defaults to the host name, the pid and a random suffix.
	Identity string
	// LeaseDuration is the Lease's leaseDurationSeconds; defaults to
	// DefaultLeaseDuration. Another process of the framework takes over this
	// long after the last renewal.
	LeaseDuration time.Duration
	// RenewInterval is how often the Lease is renewed; defaults to
	// DefaultRenewInterval and must be less than LeaseDuration.
	RenewInterval time.Duration
	// OfferBatchDelay is how long the driver gathers offers and events before it
	// calls the scheduler; defaults to DefaultOfferBatchDelay.
	OfferBatchDelay time.Duration
}

// complete returns fw with defaults filled in, or an error naming the first
// invalid field.
func (fw Framework) complete() (Framework, error) {
	if fw.Identity == "" {
		fw.Identity = defaultIdentity()
	}
	if fw.LeaseDuration == 0 {
		fw.LeaseDuration = DefaultLeaseDuration
	}
	if fw.RenewInterval == 0 {
		fw.RenewInterval = min(DefaultRenewInterval, fw.LeaseDuration/3)
	}
	if fw.OfferBatchDelay == 0 {
		fw.OfferBatchDelay = DefaultOfferBatchDelay
	}
	return fw, fw.validate()
}

// validate checks a completed Framework.
func (fw Framework) validate() error {
	var errs []error
	if msgs := validation.IsDNS1123Subdomain(fw.Name); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("name: %q: %s", fw.Name, msgs[0]))
	}
	if msgs := validation.IsDNS1123Label(fw.Namespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("namespace: %q: %s", fw.Namespace, msgs[0]))
	}
	if fw.Role != "" {
		if msgs := validation.IsDNS1123Subdomain(fw.Role); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("role: %q: %s", fw.Role, msgs[0]))
		}
	}
	if fw.LeaseDuration < time.Second {
		errs = append(errs, fmt.Errorf("leaseDuration: %v must be at least 1s", fw.LeaseDuration))
	}
	if fw.RenewInterval <= 0 || fw.RenewInterval >= fw.LeaseDuration {
		errs = append(errs, fmt.Errorf("renewInterval: %v must be more than 0 and less than leaseDuration (%v)", fw.RenewInterval, fw.LeaseDuration))
	}
	if fw.OfferBatchDelay < 0 {
		errs = append(errs, fmt.Errorf("offerBatchDelay: %v must not be negative", fw.OfferBatchDelay))
	}
	return errors.Join(errs...)
}

// defaultIdentity returns "<host>_<pid>_<random>".
func defaultIdentity() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s_%d_%s", host, os.Getpid(), hex.EncodeToString(b))
}
