package tasks

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/runtime"
)

// recordingPatch is a PatchStatus that records each state written and bumps
// the task's resourceVersion as the API server would; after refuseAfter
// writes it reports a conflict, or fails with err.
type recordingPatch struct {
	states      []v1alpha1.TaskState
	versions    []string
	refuseAfter int
	err         error
}

func (p *recordingPatch) patch(_ context.Context, task *v1alpha1.Task, next v1alpha1.TaskStatus) (bool, error) {
	if p.refuseAfter > 0 && len(p.states) == p.refuseAfter {
		return false, p.err
	}
	p.versions = append(p.versions, task.ResourceVersion)
	p.states = append(p.states, next.State)
	task.Status = next
	task.ResourceVersion += "+"
	return true, nil
}

func TestWriteStatus(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	running := Observation{Phase: PhaseRunning, ContainerID: "c1", StartedAt: now}
	exited := Observation{Phase: PhaseExited, ContainerID: "c1", StartedAt: now,
		Exit: &runtime.ExitStatus{Code: 0, FinishedAt: now}}
	tests := []struct {
		name        string
		from        v1alpha1.TaskState
		obs         Observation
		refuseAfter int
		err         error
		want        []v1alpha1.TaskState
		current     bool
		wantErr     bool
	}{
		{name: "a running container: every rung, each in its own write, in one pass", obs: running,
			want: []v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting, v1alpha1.TaskRunning}, current: true},
		{name: "a container being prepared stops at Starting", obs: Observation{Phase: PhasePreparing},
			want: []v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting}, current: true},
		{name: "nothing to write", from: v1alpha1.TaskRunning, obs: running, current: true},
		{name: "an exited container: the ladder, then its terminal state, within the pass's bound", obs: exited,
			want: []v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting, v1alpha1.TaskRunning, v1alpha1.TaskFinished}, current: true},
		{name: "a conflict stops the pass: the newer version brings the task back", obs: running, refuseAfter: 1,
			want: []v1alpha1.TaskState{v1alpha1.TaskStaging}},
		{name: "an error stops the pass", obs: running, refuseAfter: 2, err: errors.New("boom"),
			want: []v1alpha1.TaskState{v1alpha1.TaskStaging, v1alpha1.TaskStarting}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			task := &v1alpha1.Task{Status: v1alpha1.TaskStatus{State: tt.from}}
			task.ResourceVersion = "1"
			if tt.from == v1alpha1.TaskRunning {
				task.Status = NextStatus(v1alpha1.TaskStatus{State: v1alpha1.TaskStarting}, running, now)
			}
			p := &recordingPatch{refuseAfter: tt.refuseAfter, err: tt.err}
			current, err := WriteStatus(t.Context(), task, func() Observation { return tt.obs }, now, p.patch)
			g.Expect(err != nil).To(Equal(tt.wantErr), "error %v", err)
			g.Expect(current).To(Equal(tt.current))
			g.Expect(p.states).To(Equal(tt.want))
			for i, v := range p.versions {
				g.Expect(v).To(HaveLen(1+i), "write %d is made from the version the previous one returned", i)
			}
		})
	}
}

func TestWriteStatusStopsAtItsBound(t *testing.T) {
	g := NewWithT(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// An observation that changes with every look never settles: the pass stops after maxWritesPerPass writes, and
	// the event of its last write brings the task back.
	flips := 0
	observe := func() Observation {
		flips++
		return Observation{Phase: PhaseRunning, ContainerID: fmt.Sprintf("c%d", flips), StartedAt: now}
	}
	task := &v1alpha1.Task{Status: v1alpha1.TaskStatus{State: v1alpha1.TaskRunning, ContainerID: "c1"}}
	p := &recordingPatch{}
	current, err := WriteStatus(t.Context(), task, observe, now, p.patch)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p.states).To(HaveLen(maxWritesPerPass))
	g.Expect(current).To(BeFalse())
}
