package sdk

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
)

// leaseAction is what a driver does with the framework's Lease on one attempt.
type leaseAction int

const (
	// leaseCreate: there is no Lease; create it, held by us.
	leaseCreate leaseAction = iota
	// leaseRenew: we hold it; renew it.
	leaseRenew
	// leaseTakeOver: nobody holds it, or its holder let it expire; take it.
	leaseTakeOver
	// leaseWait: another process holds it; wait and look again.
	leaseWait
)

func (a leaseAction) String() string {
	return [...]string{"create", "renew", "takeOver", "wait"}[a]
}

// leaseObservation is the last record of another holder a driver saw, and when
// it saw it change, by its own clock. A holder that stops renewing is expired
// one lease duration after the driver last saw its record change, whatever the
// clocks of the two processes say; or earlier when the record's own renewTime
// says so.
type leaseObservation struct {
	holder    string
	renewTime time.Time
	at        time.Time
}

// observe returns the observation after seeing l at now.
func (o leaseObservation) observe(l *coordinationv1.Lease, now time.Time) leaseObservation {
	holder, renew := leaseRecord(l)
	if o.holder == holder && o.renewTime.Equal(renew) && !o.at.IsZero() {
		return o
	}
	return leaseObservation{holder: holder, renewTime: renew, at: now}
}

// decideLease says what the driver identity does with lease l (nil when it does
// not exist) at now, given what it observed before; for leaseWait it also says
// how long until the holder's lease runs out at the latest.
func decideLease(l *coordinationv1.Lease, identity string, obs leaseObservation, now time.Time) (leaseAction, time.Duration) {
	if l == nil {
		return leaseCreate, 0
	}
	holder, renew := leaseRecord(l)
	switch {
	case holder == identity:
		return leaseRenew, 0
	case holder == "":
		return leaseTakeOver, 0
	}
	d := leaseDurationOf(l)
	byRecord := renew.Add(d)
	byObservation := obs.at.Add(d)
	if obs.at.IsZero() || obs.holder != holder || !obs.renewTime.Equal(renew) {
		byObservation = now.Add(d)
	}
	expiry := byObservation
	if !renew.IsZero() && byRecord.Before(expiry) {
		expiry = byRecord
	}
	if !now.Before(expiry) {
		return leaseTakeOver, 0
	}
	return leaseWait, expiry.Sub(now)
}

// leaseRecord returns the holder and renew time of l.
func leaseRecord(l *coordinationv1.Lease) (string, time.Time) {
	var holder string
	var renew time.Time
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	if l.Spec.RenewTime != nil {
		renew = l.Spec.RenewTime.Time
	}
	return holder, renew
}

// leaseDurationOf returns the lease's duration, DefaultLeaseDuration when unset.
func leaseDurationOf(l *coordinationv1.Lease) time.Duration {
	if l.Spec.LeaseDurationSeconds == nil || *l.Spec.LeaseDurationSeconds <= 0 {
		return DefaultLeaseDuration
	}
	return time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
}
