package node

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
		jitter: func() float64 { return 0 }, // the whole StatusInterval
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

func TestHeartbeatAdoptsTheMastersPace(t *testing.T) {
	ch := newCountingHeartbeat(t)
	ch.LeaseDuration = 40 * time.Second
	ctx := context.Background()
	pace := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "meseta-system", Name: v1alpha1.NodeHeartbeatConfigMap},
		Data:       map[string]string{v1alpha1.NodeHeartbeatIntervalKey: "50s", v1alpha1.NodeHeartbeatTimeoutKey: "250s"},
	}
	if _, err := ch.Leases.CoreV1().ConfigMaps("meseta-system").Create(ctx, pace, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	lease := func() *coordinationv1.Lease {
		t.Helper()
		l, err := ch.Leases.CoordinationV1().Leases("meseta-system").Get(ctx, "node-a", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	// The first beat reads the pace before it creates the Lease, which carries
	// the stretched node timeout and lease duration.
	if err := ch.beat(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := ch.interval(); got != 50*time.Second {
		t.Fatalf("interval %s, want the master's 50s", got)
	}
	l := lease()
	if got := l.Annotations[v1alpha1.NodeTimeoutAnnotation]; got != "4m10s" {
		t.Fatalf("node timeout annotation %q, want 4m10s", got)
	}
	if got := *l.Spec.LeaseDurationSeconds; got != 133 {
		t.Fatalf("leaseDurationSeconds %d, want 133 (40s stretched as 15s to 50s)", got)
	}

	// The master takes the pace back: the agent returns to its own at the next
	// read, with the renewal that does so, and drops the annotation.
	if err := ch.Leases.CoreV1().ConfigMaps("meseta-system").Delete(ctx, v1alpha1.NodeHeartbeatConfigMap, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// The pace is read again every status interval, stretched as the
	// renewals are: every 1m x 50s/15s = 200s.
	for range 3 {
		ch.beatAfter(t, 50*time.Second)
		if got := ch.interval(); got != 50*time.Second {
			t.Fatalf("interval %s before the pace is read again, want 50s", got)
		}
	}
	ch.beatAfter(t, 50*time.Second)
	if got := ch.interval(); got != 15*time.Second {
		t.Fatalf("interval %s, want the agent's own 15s", got)
	}
	l = lease()
	if _, ok := l.Annotations[v1alpha1.NodeTimeoutAnnotation]; ok || *l.Spec.LeaseDurationSeconds != 40 {
		t.Fatalf("lease %v with leaseDurationSeconds %d, want no node timeout and 40", l.Annotations, *l.Spec.LeaseDurationSeconds)
	}
}

// TestHeartbeatAdoptsALaterPaceSoon: an agent that registered before the
// master published a pace (thousands registering at once) reads it again
// after paceRecheck of its renewals, not only every status interval; and so
// again when the master stretches the pace further.
func TestHeartbeatAdoptsALaterPaceSoon(t *testing.T) {
	ch := newCountingHeartbeat(t)
	ch.StatusInterval = 5 * time.Minute
	ch.drawStatusEvery()
	ctx := context.Background()
	if err := ch.beat(ctx, true); err != nil {
		t.Fatal(err)
	}
	pace := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "meseta-system", Name: v1alpha1.NodeHeartbeatConfigMap},
		Data:       map[string]string{v1alpha1.NodeHeartbeatIntervalKey: "50s", v1alpha1.NodeHeartbeatTimeoutKey: "250s"},
	}
	if _, err := ch.Leases.CoreV1().ConfigMaps("meseta-system").Create(ctx, pace, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range paceRecheck - 1 {
		ch.beatAfter(t, 15*time.Second)
		if got := ch.interval(); got != 15*time.Second {
			t.Fatalf("renewal %d: interval %s, want its own 15s until the pace is read again", i+1, got)
		}
	}
	ch.beatAfter(t, 15*time.Second)
	if got := ch.interval(); got != 50*time.Second {
		t.Fatalf("interval %s after %d renewals, want the master's 50s", got, paceRecheck)
	}
	// The cluster grew on: the master stretches the pace further, and the agent
	// reads it within 8 renewals at the pace it has, well before its status
	// interval (5m stretched to 16m40s).
	pace.Data[v1alpha1.NodeHeartbeatIntervalKey], pace.Data[v1alpha1.NodeHeartbeatTimeoutKey] = "100s", "500s"
	if _, err := ch.Leases.CoreV1().ConfigMaps("meseta-system").Update(ctx, pace, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for range paceRecheck - 1 {
		ch.beatAfter(t, 50*time.Second)
	}
	if got := ch.interval(); got != 50*time.Second {
		t.Fatalf("interval %s before the pace is read again, want 50s", got)
	}
	ch.beatAfter(t, 50*time.Second)
	if got := ch.interval(); got != 100*time.Second {
		t.Fatalf("interval %s after %d renewals at 50s, want the master's new 100s", got, paceRecheck)
	}
}

func TestHeartbeatSpreadsStatusUpdates(t *testing.T) {
	for _, tt := range []struct {
		jitter float64
		want   time.Duration
	}{{0, time.Minute}, {0.5, 45 * time.Second}, {0.75, 37500 * time.Millisecond}} {
		ch := newCountingHeartbeat(t)
		ch.jitter = func() float64 { return tt.jitter }
		ch.drawStatusEvery()
		if ch.statusEvery != tt.want {
			t.Errorf("jitter %v: status every %s, want %s", tt.jitter, ch.statusEvery, tt.want)
		}
	}
}

func TestHeartbeatKeepsItsOwnSlowerPace(t *testing.T) {
	ch := newCountingHeartbeat(t)
	ch.Interval = time.Minute
	pace := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "meseta-system", Name: v1alpha1.NodeHeartbeatConfigMap},
		Data:       map[string]string{v1alpha1.NodeHeartbeatIntervalKey: "20s", v1alpha1.NodeHeartbeatTimeoutKey: "100s"},
	}
	if _, err := ch.Leases.CoreV1().ConfigMaps("meseta-system").Create(context.Background(), pace, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ch.beat(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if got := ch.interval(); got != time.Minute {
		t.Fatalf("interval %s, want the agent's own minute", got)
	}
	if ch.lease.Annotations[v1alpha1.NodeTimeoutAnnotation] != "" {
		t.Fatalf("an agent at its own pace claims node timeout %q", ch.lease.Annotations[v1alpha1.NodeTimeoutAnnotation])
	}
}

func TestParsePace(t *testing.T) {
	tests := []struct {
		name    string
		data    map[string]string
		want    Pace
		wantErr string
	}{
		{name: "none", data: map[string]string{"nodes": "12"}},
		{name: "a pace", data: map[string]string{"interval": "20s", "nodeTimeout": "100s"}, want: Pace{Interval: 20 * time.Second, NodeTimeout: 100 * time.Second}},
		{name: "bad interval", data: map[string]string{"interval": "often", "nodeTimeout": "100s"}, wantErr: `data.interval: "often" is not a positive duration`},
		{name: "timeout shorter than the interval", data: map[string]string{"interval": "20s", "nodeTimeout": "10s"},
			wantErr: `data.nodeTimeout: "10s" is not a duration of at least the interval (20s)`},
		{name: "no timeout", data: map[string]string{"interval": "20s"}, wantErr: "data.nodeTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePace(tt.data)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePace error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParsePace = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
