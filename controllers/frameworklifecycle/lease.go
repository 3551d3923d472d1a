package frameworklifecycle

import (
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
)

// LeaseState is what a framework's Lease says at a point in time.
type LeaseState struct {
	// Missing is true when there is no Lease.
	Missing bool
	// Fresh is true while the Lease is renewed in time.
	Fresh bool
	// Renewed is the Lease's last renewal (renewTime, else acquireTime, else
	// its creation) and Expiry that plus its duration.
	Renewed, Expiry time.Time
	// Duration is the Lease's leaseDurationSeconds, or DefaultLeaseDuration.
	Duration time.Duration
	// Holder is the Lease's holderIdentity, if any.
	Holder string
}

// AssessLease returns the state of a framework's Lease l (nil when missing)
// at now. The Lease is fresh while now is before renewTime plus
// leaseDurationSeconds.
func AssessLease(l *coordinationv1.Lease, now time.Time) LeaseState {
	if l == nil {
		return LeaseState{Missing: true, Duration: DefaultLeaseDuration}
	}
	s := LeaseState{Duration: DefaultLeaseDuration, Renewed: l.CreationTimestamp.Time}
	if d := l.Spec.LeaseDurationSeconds; d != nil && *d > 0 {
		s.Duration = time.Duration(*d) * time.Second
	}
	switch {
	case l.Spec.RenewTime != nil:
		s.Renewed = l.Spec.RenewTime.Time
	case l.Spec.AcquireTime != nil:
		s.Renewed = l.Spec.AcquireTime.Time
	}
	if l.Spec.HolderIdentity != nil {
		s.Holder = *l.Spec.HolderIdentity
	}
	s.Expiry = s.Renewed.Add(s.Duration)
	s.Fresh = now.Before(s.Expiry)
	return s
}

// describe says in a sentence what the Lease state means for the framework.
func (s LeaseState) describe(namespace, name string) string {
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	switch {
	case s.Missing:
		return fmt.Sprintf("No Lease %s/%s: the framework is inactive and gets no offers", namespace, name)
	case !s.Fresh:
		return fmt.Sprintf("The Lease was last renewed at %s and expired at %s: the framework is inactive and gets no offers", stamp(s.Renewed), stamp(s.Expiry))
	case s.Holder != "":
		return fmt.Sprintf("The Lease is held by %s and renewed in time", s.Holder)
	}
	return "The Lease is renewed in time"
}
