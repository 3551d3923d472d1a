package nodelifecycle

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
	agentnode "meseta.dev/meseta/pkg/agent/node"
)

func TestBaseHeartbeatIntervalIsTheAgentsDefault(t *testing.T) {
	if BaseHeartbeatInterval != agentnode.DefaultInterval {
		t.Fatalf("BaseHeartbeatInterval %s, the agents' default interval %s: the pace stretches from the agents' default", BaseHeartbeatInterval, agentnode.DefaultInterval)
	}
}

func TestPaceFor(t *testing.T) {
	const timeout = 75 * time.Second
	tests := []struct {
		name         string
		nodes        int
		budget       float64
		nodeTimeout  time.Duration
		wantInterval time.Duration
		wantTimeout  time.Duration
	}{
		{name: "no budget", nodes: 100000, budget: 0, nodeTimeout: timeout, wantTimeout: timeout},
		{name: "no nodes", nodes: 0, budget: 100, nodeTimeout: timeout, wantTimeout: timeout},
		{name: "within the budget", nodes: 1500, budget: 100, nodeTimeout: timeout, wantTimeout: timeout},
		{name: "just past the budget rounds up to 5s", nodes: 1501, budget: 100, nodeTimeout: timeout,
			wantInterval: 20 * time.Second, wantTimeout: 100 * time.Second},
		{name: "5,000 nodes", nodes: 5000, budget: 100, nodeTimeout: timeout,
			wantInterval: 50 * time.Second, wantTimeout: 250 * time.Second},
		{name: "a fractional budget", nodes: 3, budget: 0.15, nodeTimeout: timeout,
			wantInterval: 20 * time.Second, wantTimeout: 100 * time.Second},
		{name: "at most ten times slower", nodes: 100000, budget: 100, nodeTimeout: timeout,
			wantInterval: 150 * time.Second, wantTimeout: 750 * time.Second},
		{name: "a short node timeout waits three intervals", nodes: 4, budget: 0.2, nodeTimeout: 3 * time.Second,
			wantInterval: 20 * time.Second, wantTimeout: 60 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PaceFor(tt.nodes, tt.budget, tt.nodeTimeout)
			if got.Interval != tt.wantInterval || got.NodeTimeout != tt.wantTimeout {
				t.Fatalf("PaceFor(%d, %v, %s) = %+v, want interval %s node timeout %s", tt.nodes, tt.budget, tt.nodeTimeout, got, tt.wantInterval, tt.wantTimeout)
			}
			data := PaceData(got, tt.nodes, tt.budget)
			_, has := data[v1alpha1.NodeHeartbeatIntervalKey]
			if has != (tt.wantInterval > 0) {
				t.Fatalf("PaceData = %v: the interval key must be there exactly when the pace stretches", data)
			}
			parsed, err := agentnode.ParsePace(data)
			if err != nil || parsed.Interval != got.Interval || (has && parsed.NodeTimeout != got.NodeTimeout) {
				t.Fatalf("the agents read %+v (err %v) of %v, want %+v", parsed, err, data, got)
			}
		})
	}
}

func TestNodeTimeoutOf(t *testing.T) {
	const timeout = 75 * time.Second
	withAnnotation := func(v string) *coordinationv1.Lease {
		return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{v1alpha1.NodeTimeoutAnnotation: v}}}
	}
	tests := []struct {
		name  string
		lease *coordinationv1.Lease
		want  time.Duration
	}{
		{name: "no lease", want: timeout},
		{name: "no annotation", lease: &coordinationv1.Lease{}, want: timeout},
		{name: "stretched", lease: withAnnotation("250s"), want: 250 * time.Second},
		{name: "never shorter than the master's", lease: withAnnotation("10s"), want: timeout},
		{name: "never longer than the slowest pace's", lease: withAnnotation("100h"), want: 750 * time.Second},
		{name: "not a duration", lease: withAnnotation("soon"), want: timeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NodeTimeoutOf(tt.lease, timeout); got != tt.want {
				t.Fatalf("NodeTimeoutOf = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSamePace(t *testing.T) {
	at := func(nodes int, budget float64) map[string]string {
		return PaceData(PaceFor(nodes, budget, 75*time.Second), nodes, budget)
	}
	if !samePace(at(1900, 100), at(1901, 100)) {
		t.Error("a node more, the same 20s pace: nothing to write")
	}
	if samePace(at(1900, 100), at(2600, 100)) {
		t.Error("20s and 30s paces are the same")
	}
	if samePace(at(10, 100), at(10, 50)) {
		t.Error("a new budget is not written")
	}
	if samePace(at(1500, 100), at(1501, 100)) {
		t.Error("no pace and a 20s pace are the same")
	}
}
