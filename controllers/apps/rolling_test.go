package apps

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestCapacityOf(t *testing.T) {
	strategy := func(minPct, maxPct int32) *v1alpha1.UpgradeStrategy {
		return &v1alpha1.UpgradeStrategy{MinimumHealthCapacity: ptr.To(minPct), MaximumOverCapacity: ptr.To(maxPct)}
	}
	tests := []struct {
		name      string
		instances int32
		strategy  *v1alpha1.UpgradeStrategy
		want      capacity
	}{
		{name: "defaults: all new first, then old killed", instances: 3, want: capacity{required: 3, minHealthy: 3, maxTotal: 6}},
		{name: "min rounds up", instances: 3, strategy: strategy(66, 0), want: capacity{required: 2, minHealthy: 2, maxTotal: 3}},
		{name: "max rounds down", instances: 3, strategy: strategy(50, 50), want: capacity{required: 2, minHealthy: 2, maxTotal: 4}},
		{name: "kill all old first", instances: 4, strategy: strategy(0, 0), want: capacity{required: 0, minHealthy: 0, maxTotal: 4}},
		{name: "no room either way: one at a time", instances: 3, strategy: strategy(100, 0), want: capacity{required: 3, minHealthy: 2, maxTotal: 3}},
		{name: "zero instances", instances: 0, strategy: strategy(100, 0), want: capacity{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			NewWithT(t).Expect(capacityOf(tt.instances, tt.strategy)).To(Equal(tt.want))
		})
	}
}

// TestRollingUpgradeKeepsCapacity replays a rolling upgrade step by step
// against a simulated cluster (a launched task is staged one step and healthy
// the next; a killed task is gone one step later) and checks Marathon's
// bounds at every step: never fewer healthy instances than
// minimumHealthCapacity asks for, never more tasks than maximumOverCapacity
// allows; and that it ends with every instance updated and healthy.
func TestRollingUpgradeKeepsCapacity(t *testing.T) {
	for _, tc := range []struct{ instances, minPct, maxPct int32 }{
		{3, 100, 100}, {3, 66, 0}, {3, 100, 0}, {5, 50, 20}, {4, 0, 0}, {10, 80, 10}, {1, 100, 0}, {1, 0, 100},
	} {
		t.Run(fmt.Sprintf("%d instances, min %d, max %d", tc.instances, tc.minPct, tc.maxPct), func(t *testing.T) {
			g := NewWithT(t)
			capa := capacityOf(tc.instances, &v1alpha1.UpgradeStrategy{MinimumHealthCapacity: ptr.To(tc.minPct), MaximumOverCapacity: ptr.To(tc.maxPct)})
			spec := appSpec{instances: tc.instances, version: "v2", capacity: capa, backoff: backoffOf(nil, time.Minute)}
			var tasks []taskRef
			for i := range int(tc.instances) {
				tasks = append(tasks, taskRef{name: taskName("web", i), seq: i, version: "v1", state: v1alpha1.TaskRunning, healthy: true})
			}
			done := false
			for step := 0; step < 100 && !done; step++ {
				p := planApp(spec, tasks, t0)
				tasks = simulateStep(tasks, p)
				var total, healthy int32
				for _, tk := range tasks {
					if tk.counted() {
						total++
					}
					if tk.isHealthy() {
						healthy++
					}
				}
				g.Expect(total).To(BeNumerically("<=", capa.maxTotal), "step %d: too many tasks", step)
				g.Expect(healthy).To(BeNumerically(">=", capa.minHealthy), "step %d: too few healthy", step)
				c := countTasks("v2", tasks)
				done = c.old == 0 && c.updatedHealthy == tc.instances && c.existing == tc.instances
			}
			g.Expect(done).To(BeTrue(), "the upgrade finishes: %+v", tasks)
		})
	}
}

// simulateStep applies a plan as a cluster would: killed tasks are marked
// deleting (and go the step after), staged tasks become healthy, launches
// become staged tasks.
func simulateStep(tasks []taskRef, p appPlan) []taskRef {
	kill := map[string]bool{}
	for _, n := range p.kill {
		kill[n] = true
	}
	var out []taskRef
	for _, tk := range tasks {
		switch {
		case tk.deleting:
			continue
		case kill[tk.name]:
			tk.deleting = true
		case tk.state == v1alpha1.TaskStaging:
			tk.state, tk.healthy = v1alpha1.TaskRunning, true
		}
		out = append(out, tk)
	}
	for _, l := range p.launches {
		out = append(out, taskRef{name: taskName("web", l.seq), seq: l.seq, version: "v2", state: v1alpha1.TaskStaging})
	}
	return out
}
