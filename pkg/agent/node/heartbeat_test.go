package node

import (
	"context"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"meseta.dev/meseta/apis/v1alpha1"
)

// countingHeartbeat is a Heartbeat on in-memory clients that counts the
// node reads and status writes it makes.
type countingHeartbeat struct {
	*Heartbeat
	clock         *clocktesting.FakeClock
	reads, writes int
}

func newCountingHeartbeat(t *testing.T) *countingHeartbeat {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	ch := &countingHeartbeat{clock: clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))}
	c := fake.NewClientBuilder().WithScheme(scheme).WithStatusSubresource(&v1alpha1.Node{}).
		WithInterceptorFuncs(interceptor.Funcs{
			Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
				if _, ok := obj.(*v1alpha1.Node); ok {
					ch.reads++
				}
				return c.Get(ctx, key, obj, opts...)
			},
			SubResourcePatch: func(context.Context, client.Client, string, client.Object, client.Patch, ...client.SubResourcePatchOption) error {
				ch.writes++
				return nil
			},
		}).Build()
	leases := kubefake.NewClientset()
	cpus := resource.MustParse("2")
	ch.Heartbeat = &Heartbeat{
		Client: c, Leases: leases, Node: "node-a", LeaseNamespace: "meseta-system",
		Facts: func() Facts {
			return Facts{Allocatable: v1alpha1.Resources{Cpus: &cpus}}
		},
		Interval: 15 * time.Second, StatusInterval: time.Minute, Clock: ch.clock,
	}
	ch.complete()
	return ch
}

// beatAfter advances the clock by d and beats.
func (ch *countingHeartbeat) beatAfter(t *testing.T, d time.Duration) {
	t.Helper()
	ch.clock.Step(d)
	if err := ch.beat(context.Background(), false); err != nil {
		t.Fatalf("beat: %v", err)
	}
}

func TestHeartbeatReadsTheNodeOnlyWhenItMustBe(t *testing.T) {
	ch := newCountingHeartbeat(t)
	if err := ch.beat(context.Background(), true); err != nil {
		t.Fatalf("first beat: %v", err)
	}
	if ch.reads != 1 || ch.writes != 1 {
		t.Fatalf("registration: %d reads and %d status writes, want 1 and 1", ch.reads, ch.writes)
	}

	// Beats within the status interval, with nothing changed, renew the Lease
	// alone.
	for range 3 {
		ch.beatAfter(t, 15*time.Second)
	}
	if ch.reads != 1 || ch.writes != 1 {
		t.Fatalf("steady beats: %d reads and %d status writes, want 1 and 1", ch.reads, ch.writes)
	}

	// Past the status interval the node is read again and its heartbeat time
	// written.
	ch.beatAfter(t, 15*time.Second)
	if ch.reads != 2 || ch.writes != 2 {
		t.Fatalf("after the status interval: %d reads and %d status writes, want 2 and 2", ch.reads, ch.writes)
	}

	// Facts that change are noticed against the status last written, read
	// again and written.
	more := resource.MustParse("4")
	ch.Facts = func() Facts { return Facts{Allocatable: v1alpha1.Resources{Cpus: &more}} }
	ch.beatAfter(t, 15*time.Second)
	if ch.reads != 3 || ch.writes != 3 {
		t.Fatalf("changed facts: %d reads and %d status writes, want 3 and 3", ch.reads, ch.writes)
	}
}

func TestHeartbeatReadsTheNodeAfterAGapInRenewals(t *testing.T) {
	ch := newCountingHeartbeat(t)
	if err := ch.beat(context.Background(), true); err != nil {
		t.Fatalf("first beat: %v", err)
	}
	ch.beatAfter(t, 15*time.Second)
	reads := ch.reads
	// A long gap since the last renewal (the agent was cut off or stopped):
	// the master may have marked the node Unknown, so the node is read at once.
	ch.beatAfter(t, 35*time.Second) // still within the status interval
	if ch.reads != reads+1 {
		t.Fatalf("after a gap of renewals: %d reads, want %d", ch.reads, reads+1)
	}
}
