package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
)

// launchSize is the size of a launch-throughput run.
type launchSize struct{ nodes, tasks int }

// benchLaunchThroughput launches tasks onto simulated nodes through the
// jobs framework (one Job) and through a raw SDK framework (one sdk.Queue),
// each on a fresh master, and reports tasks per second placed (bound to a
// node) and Running, from the Job's creation (or the Queue's Set) to the last
// task seen so by a watcher.
func benchLaunchThroughput(ctx context.Context, env *env) {
	size := launchSize{nodes: 1000, tasks: 10000}
	if env.short {
		size = launchSize{nodes: 100, tasks: 1000}
	}
	for _, path := range []struct {
		name   string
		launch func(ctx context.Context, m *master, n int) (time.Time, error)
	}{
		{"jobs", launchJob},
		{"sdk", launchQueue},
	} {
		params := fmt.Sprintf("nodes=%d tasks=%d via=%s", size.nodes, size.tasks, path.name)
		if err := runLaunch(ctx, env, size, params, path.launch); err != nil {
			env.report.fail("launch-throughput", params, err)
		}
	}
}

// runLaunch runs one launch-throughput measurement on a fresh master.
func runLaunch(ctx context.Context, env *env, size launchSize, params string,
	launch func(ctx context.Context, m *master, n int) (time.Time, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m, err := startMaster(ctx, env)
	if err != nil {
		return err
	}
	defer m.stop()
	if _, err := startFleet(ctx, m, size.nodes, nil); err != nil {
		return err
	}
	tr, err := trackTasks(ctx, m, benchNamespace)
	if err != nil {
		return err
	}
	start, err := launch(ctx, m, size.tasks)
	if err != nil {
		return err
	}
	ok := tr.waitRunning(ctx, size.tasks, 15*time.Minute)
	bound, running, lastBound, lastRunning := tr.counts()
	note := ""
	if !ok {
		note = fmt.Sprintf("only %d bound and %d Running after 15 minutes", bound, running)
		lastRunning = time.Now()
	}
	placed := float64(bound) / lastBound.Sub(start).Seconds()
	run := float64(running) / lastRunning.Sub(start).Seconds()
	env.report.add(Row{Scenario: "launch-throughput", Params: params, Measure: "placed", Value: placed, Unit: "tasks/s", Note: note})
	row := Row{Scenario: "launch-throughput", Params: params, Measure: "placed and Running", Value: run, Unit: "tasks/s",
		Note: fmt.Sprintf("%d Running in %.1fs %s", running, lastRunning.Sub(start).Seconds(), note)}
	row.Target, row.Met = target(">= 500", run, 500, false)
	env.report.add(row)
	return nil
}

// benchNamespace is where the launch benchmarks' frameworks live.
const benchNamespace = "bench"

// launchJob creates one Job of n tasks that run until deleted, and returns
// when it was created.
func launchJob(ctx context.Context, m *master, n int) (time.Time, error) {
	c, err := m.client()
	if err != nil {
		return time.Time{}, err
	}
	if err := ensureNamespace(ctx, c, benchNamespace); err != nil {
		return time.Time{}, err
	}
	count := int32(n)
	job := &v1alpha1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "launch", Namespace: benchNamespace},
		Spec:       v1alpha1.JobSpec{Completions: &count, Parallelism: &count, Template: benchTemplate()},
	}
	start := time.Now()
	return start, c.Create(ctx, job)
}

// benchTemplate is a small task that runs until it is deleted.
func benchTemplate() v1alpha1.TaskTemplate {
	cpus, mem := resource.MustParse("100m"), resource.MustParse("32Mi")
	return v1alpha1.TaskTemplate{
		Resources: v1alpha1.Resources{Cpus: &cpus, Mem: &mem},
		Container: v1alpha1.Container{Image: "oci:/var/lib/images/busybox", Command: []string{"sleep", "infinity"}},
	}
}

func ensureNamespace(ctx context.Context, c client.Client, name string) error {
	err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	if err != nil && !isAlreadyExists(err) {
		return err
	}
	return nil
}
