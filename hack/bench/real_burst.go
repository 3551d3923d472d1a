package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

// realBurstSize and realAppInstances are the sizes of the burst and App
// measures of launch-latency-real.
const (
	realBurstSize     = 60
	realBurstParallel = 4
	realAppInstances  = 20
)

// measureRealBurst creates n tasks placed on the real agent's node at once
// (8 creates in flight) and reports how many launches per second the one
// agent made, from the first create to the last task seen Running.
func measureRealBurst(ctx context.Context, env *env, m *master, c client.Client, img string, n int) error {
	const ns = "real-burst"
	params := fmt.Sprintf("tasks=%d at once, one agent", n)
	// The machine's own rate first: the same number of prepared bundles run
	// by runc alone, realBurstParallel at a time.
	rawTook, err := rawRuncBurst(ctx, env, img, n, realBurstParallel)
	if err != nil {
		return err
	}
	env.report.add(Row{Scenario: "launch-latency-real", Params: params, Measure: "raw runc run -d per second",
		Value: float64(n) / rawTook.Seconds(), Unit: "tasks/s",
		Note: fmt.Sprintf("%d prepared bundles, %d at a time, in %.2fs", n, realBurstParallel, rawTook.Seconds())})
	if err := ensureNamespace(ctx, c, ns); err != nil {
		return err
	}
	tr, err := trackTasks(ctx, m, ns)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := createConcurrently(ctx, c, n, 8, func(i int) client.Object {
		return realTask(ns, "burst-"+strconv.Itoa(i), "oci:"+img)
	}); err != nil {
		return err
	}
	if !tr.waitRunning(ctx, n, 2*time.Minute) {
		_, running, _, _ := tr.counts()
		return fmt.Errorf("only %d of %d tasks Running after 2 minutes", running, n)
	}
	_, _, _, last := tr.counts()
	if env.timeline {
		fmt.Fprintf(os.Stderr, "bench: %s since the first create: %s\n", params, tr.milestones(start))
	}
	elapsed := last.Sub(start)
	row := Row{Scenario: "launch-latency-real", Params: params, Measure: "launches per second", Value: float64(n) / elapsed.Seconds(),
		Unit: "tasks/s", Note: fmt.Sprintf("%d Running %.2fs after the first create", n, elapsed.Seconds())}
	row.Target, row.Met = target(">= 30", row.Value, 30, false)
	env.report.add(row)
	return nil
}

// measureRealApp creates one App of n instances, which the built-in apps
// framework launches on the real agent through offers, and reports the time
// from its creation to the last instance seen Running.
func measureRealApp(ctx context.Context, env *env, m *master, c client.Client, img string, n int) error {
	const ns = "real-app"
	if err := ensureNamespace(ctx, c, ns); err != nil {
		return err
	}
	tr, err := trackTasks(ctx, m, ns)
	if err != nil {
		return err
	}
	tmpl := realTask(ns, "", "oci:"+img).Spec.TaskTemplate
	count := int32(n)
	app := &v1alpha1.App{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec:       v1alpha1.AppSpec{Instances: &count, Template: tmpl},
	}
	start := time.Now()
	if err := c.Create(ctx, app); err != nil {
		return err
	}
	if !tr.waitRunning(ctx, n, 2*time.Minute) {
		_, running, _, _ := tr.counts()
		return fmt.Errorf("only %d of %d instances Running after 2 minutes", running, n)
	}
	_, _, _, last := tr.counts()
	if env.timeline {
		fmt.Fprintf(os.Stderr, "bench: app instances=%d since the App's creation: %s\n", n, tr.milestones(start))
	}
	row := Row{Scenario: "launch-latency-real", Params: fmt.Sprintf("app instances=%d, one agent", n),
		Measure: "App create to all Running", Value: last.Sub(start).Seconds(), Unit: "s",
		Note: "through the apps framework's offers"}
	row.Target, row.Met = target("< 1", row.Value, 1, true)
	env.report.add(row)
	return nil
}

// createConcurrently creates the n objects made by object, inflight at a
// time, and returns the first error.
func createConcurrently(ctx context.Context, c client.Client, n, inflight int, object func(i int) client.Object) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for range inflight {
		wg.Go(func() {
			for i := range next {
				if err := c.Create(ctx, object(i)); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}
