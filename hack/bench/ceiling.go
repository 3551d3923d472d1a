package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/node"
)

// ceilingObjects and ceilingWriters are how many objects the write-ceiling
// measures write and how many writers write them at once.
const (
	ceilingObjects = 256
	ceilingWriters = 64
)

// benchWriteCeiling measures the most writes per second one master takes of
// the two writes a launch and a heartbeat are made of, with nothing else to
// do (no nodes, no frameworks): Task status patches (a Meseta kind, served
// as JSON with its schema and CEL rules) and Lease updates (a built-in kind,
// over protobuf, as the agents send them). It is the ceiling every launch
// figure is under: a task costs at least five writes by contract (create,
// bind, Staging, Starting, Running).
func benchWriteCeiling(ctx context.Context, env *env) {
	d := 30 * time.Second
	if env.short {
		d = 10 * time.Second
	}
	params := fmt.Sprintf("objects=%d writers=%d for %s", ceilingObjects, ceilingWriters, d)
	if err := runWriteCeiling(ctx, env, d, params); err != nil {
		env.report.fail("write-ceiling", params, err)
	}
}

func runWriteCeiling(ctx context.Context, env *env, d time.Duration, params string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m, err := startMaster(ctx, env)
	if err != nil {
		return err
	}
	defer m.stop()
	c, err := m.client()
	if err != nil {
		return err
	}
	const ns = "ceiling"
	if err := ensureNamespace(ctx, c, ns); err != nil {
		return err
	}
	cfg := m.config()
	cfg.QPS, cfg.Burst = -1, 0 // no client-side limit: the master's ceiling
	leases, err := node.NewClientset(cfg)
	if err != nil {
		return err
	}
	wc, err := client.New(cfg, client.Options{Scheme: c.Scheme()})
	if err != nil {
		return err
	}
	tasks, err := ceilingTasks(ctx, c, ns)
	if err != nil {
		return err
	}
	held, err := ceilingLeases(ctx, leases, ns)
	if err != nil {
		return err
	}
	for _, w := range []struct {
		what, short string
		write       func(ctx context.Context, i, n int) error
	}{
		{"Task status patches (JSON)", "task-status", func(ctx context.Context, i, n int) error {
			t := tasks[i]
			return wc.Status().Patch(ctx, t, client.RawPatch("application/merge-patch+json",
				fmt.Appendf(nil, `{"status":{"message":"write %d"}}`, n)))
		}},
		{"Lease updates (protobuf)", "lease", func(ctx context.Context, i, _ int) error {
			now := metav1.NowMicro()
			held[i].Spec.RenewTime = &now
			l, err := leases.CoordinationV1().Leases(ns).Update(ctx, held[i], metav1.UpdateOptions{})
			if err == nil {
				held[i] = l
			}
			return err
		}},
	} {
		profiled := closedChannel()
		if env.profiles != "" {
			profiled = m.profileCPU(ctx, d, env.profilePath("write-ceiling-"+w.short, params))
		}
		cpuBefore, _ := m.cpuSeconds()
		n, errs, elapsed := writeFor(ctx, d, w.write)
		cpu, _ := m.cpuSeconds()
		<-profiled
		note := fmt.Sprintf("%d writes in %.1fs, master %.2f cores", n, elapsed.Seconds(), (cpu-cpuBefore)/elapsed.Seconds())
		if errs > 0 {
			note += fmt.Sprintf(", %d failed", errs)
		}
		env.report.add(Row{Scenario: "write-ceiling", Params: params, Measure: w.what, Value: float64(n) / elapsed.Seconds(), Unit: "writes/s", Note: note})
		if n > 0 {
			env.report.add(Row{Scenario: "write-ceiling", Params: params, Measure: w.what + ": master CPU per write",
				Value: 1000 * (cpu - cpuBefore) / float64(n), Unit: "ms"})
		}
	}
	return nil
}

// closedChannel returns a channel that is already closed.
func closedChannel() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// writeFor runs ceilingWriters writers over the ceilingObjects objects for d
// and returns how many writes succeeded and failed, and how long it took.
func writeFor(ctx context.Context, d time.Duration, write func(ctx context.Context, i, n int) error) (int64, int64, time.Duration) {
	var ok, failed atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range ceilingWriters {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				// Each writer owns the objects i with i%writers == w: no conflicts.
				i := w + (n%(ceilingObjects/ceilingWriters))*ceilingWriters
				if err := write(ctx, i, n); err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
					}
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return ok.Load(), failed.Load(), time.Since(start)
}

// ceilingTasks creates the tasks whose status the ceiling patches: tasks of
// no framework, placed on no node, which no controller acts on; stored
// without managedFields, as bound tasks are, so that their writes are
// untracked as a launch's status writes are.
func ceilingTasks(ctx context.Context, c client.Client, ns string) ([]*v1alpha1.Task, error) {
	tmpl := benchTemplate()
	tasks := make([]*v1alpha1.Task, ceilingObjects)
	for i := range tasks {
		tasks[i] = &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Name: "task-" + strconv.Itoa(i), Namespace: ns},
			Spec: v1alpha1.TaskSpec{Framework: "ceiling", Offers: []string{"none"}, TaskTemplate: tmpl}}
	}
	if err := createConcurrently(ctx, c, len(tasks), 16, func(i int) client.Object { return tasks[i] }); err != nil {
		return nil, err
	}
	// A master stores tasks without a record of field managers (a task's
	// launch never writes one); an older master records one at every
	// creation. Clearing it measures the same write on either (a no-op on
	// a master that kept none).
	untrack := client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"managedFields":[{}]}}`))
	for _, t := range tasks {
		if err := c.Patch(ctx, t, untrack); err != nil {
			return nil, err
		}
		if len(t.ManagedFields) != 0 {
			return nil, fmt.Errorf("task %s still has managedFields", t.Name)
		}
	}
	return tasks, nil
}

// ceilingLeases creates the Leases the ceiling renews, as a heartbeat holds
// them (without managedFields, as agents keep theirs): each renewal updates
// the copy the last one returned.
func ceilingLeases(ctx context.Context, cs kubernetes.Interface, ns string) ([]*coordinationv1.Lease, error) {
	held := make([]*coordinationv1.Lease, ceilingObjects)
	for i := range held {
		holder := "bench"
		l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "lease-" + strconv.Itoa(i), Namespace: ns},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}}
		created, err := cs.CoordinationV1().Leases(ns).Create(ctx, l, metav1.CreateOptions{})
		if err != nil {
			return nil, err
		}
		created.ManagedFields = v1alpha1.ResetManagedFields()
		if created, err = cs.CoordinationV1().Leases(ns).Update(ctx, created, metav1.UpdateOptions{}); err != nil {
			return nil, err
		}
		if len(created.ManagedFields) != 0 {
			return nil, fmt.Errorf("lease %s still has managedFields", created.Name)
		}
		held[i] = created
	}
	return held, nil
}
