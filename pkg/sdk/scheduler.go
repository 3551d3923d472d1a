package sdk

import (
	"context"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Scheduler is what a framework implements: it answers offers with decisions
// and observes its tasks. The Driver calls its methods from one goroutine, one
// at a time, and only while it holds the framework's Lease.
type Scheduler interface {
	// ResourceOffers is called with the framework's outstanding offers, each
	// time new offers arrive or a task or the framework changes (batched over
	// Framework.OfferBatchDelay), and when Driver.Trigger asks for it. It
	// returns what to do with them: Launch tasks on offers of one node, Decline
	// offers. Offers it does not mention stay outstanding and are passed again
	// next time. offers may be empty only after Trigger.
	ResourceOffers(ctx context.Context, d *Driver, offers []v1alpha1.Offer) []Decision

	// StatusUpdate is called when one of the framework's tasks changed state (or
	// reason, message, health or node), and for every task after the driver
	// (re)registers and on Driver.Reconcile. The task is a copy the scheduler may
	// keep.
	StatusUpdate(ctx context.Context, d *Driver, task *v1alpha1.Task)
}

// RegisteredHandler is implemented by a Scheduler that wants to know when the
// driver became the framework's active scheduler: it holds the Lease and the
// Framework object exists (created or adopted). Called before any other
// callback of that term.
type RegisteredHandler interface {
	Registered(ctx context.Context, d *Driver, fw *v1alpha1.Framework)
}

// DisconnectedHandler is implemented by a Scheduler that wants to know when the
// driver stopped being the active scheduler: it lost its Lease or is stopping.
// No callbacks follow until the next Registered.
type DisconnectedHandler interface {
	Disconnected(ctx context.Context, d *Driver)
}

// TaskRemovedHandler is implemented by a Scheduler that wants to know when a
// task object is gone from the API (deleted after it ended). task is its last
// known state.
type TaskRemovedHandler interface {
	TaskRemoved(ctx context.Context, d *Driver, task *v1alpha1.Task)
}

// Decision is what a Scheduler does with offers: a Launch or a Decline.
type Decision interface {
	isDecision()
}

// Launch accepts offers of one node by creating tasks on them. The master binds
// all the tasks to that node if the offers together hold their resources, and
// returns what is left to the pool; otherwise the tasks end Dropped with reason
// InvalidOffers.
type Launch struct {
	// Offers are the names of the offers used, all on one node. Required.
	Offers []string
	// Tasks are the tasks to create. Each needs a name (use TaskName for a
	// deterministic one) and a spec (resources, container...); the driver sets
	// the namespace, spec.framework, spec.offers, the LabelFramework label and
	// an owner reference to the Framework, so deleting the Framework deletes
	// them. A task that already exists is left as it is.
	Tasks []v1alpha1.Task
}

// Decline declines an offer: its resources return to the pool and its node is
// not offered to the framework again for RefuseSeconds, unless it revives.
type Decline struct {
	// Offer is the name of the offer. Required.
	Offer string
	// RefuseSeconds is how long to filter the node; nil means the master's
	// default (DefaultRefuseSeconds).
	RefuseSeconds *int32
}

func (Launch) isDecision()  {}
func (Decline) isDecision() {}

// NewTask returns a task named name that runs tmpl, ready for a Launch.
func NewTask(name string, tmpl v1alpha1.TaskTemplate) v1alpha1.Task {
	t := v1alpha1.Task{}
	t.Name = name
	t.Spec.TaskTemplate = *tmpl.DeepCopy()
	return t
}

// DeclineAll returns a Decline of every offer with the given refuse time (nil:
// the default).
func DeclineAll(offers []v1alpha1.Offer, refuseSeconds *int32) []Decision {
	out := make([]Decision, 0, len(offers))
	for i := range offers {
		out = append(out, Decline{Offer: offers[i].Name, RefuseSeconds: refuseSeconds})
	}
	return out
}

// Seconds returns a pointer to s, for Decline.RefuseSeconds.
func Seconds(s int32) *int32 { return &s }
