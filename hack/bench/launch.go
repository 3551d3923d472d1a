package main

import (
	"context"
	"fmt"
	"os"
	"strings"
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
	if _, err := startFleet(ctx, env, m, size.nodes, nil); err != nil {
		return err
	}
	tr, err := trackTasks(ctx, m, benchNamespace)
	if err != nil {
		return err
	}
	before := m.launchBaseline(ctx)
	cpuBefore, _ := m.cpuSeconds()
	selfBefore, _ := processCPUSeconds(os.Getpid())
	start, err := launch(ctx, m, size.tasks)
	if err != nil {
		return err
	}
	if env.profiles != "" {
		profiled := m.profileCPU(ctx, 30*time.Second, env.profilePath("launch", params))
		defer func() { <-profiled }()
		stop := profileSelf(env.profilePath("launch-bench", params))
		defer stop()
	}
	ok := tr.waitRunning(ctx, size.tasks, 15*time.Minute)
	reportCosts(ctx, env, m, "launch-throughput", params, size.tasks, time.Since(start), before)
	reportCPU(env, m, "launch-throughput", params, size.tasks, time.Since(start), cpuBefore, selfBefore)
	bound, running, lastBound, lastRunning := tr.counts()
	note := ""
	if !ok {
		note = fmt.Sprintf("only %d bound and %d Running after 15 minutes", bound, running)
		lastRunning = time.Now()
	}
	printTimeline(env, tr, "launch-throughput", params, start)
	placed := float64(bound) / lastBound.Sub(start).Seconds()
	run := float64(running) / lastRunning.Sub(start).Seconds()
	env.report.add(Row{Scenario: "launch-throughput", Params: params, Measure: "placed", Value: placed, Unit: "tasks/s", Note: note})
	row := Row{Scenario: "launch-throughput", Params: params, Measure: "placed and Running", Value: run, Unit: "tasks/s",
		Note: fmt.Sprintf("%d Running in %.1fs %s", running, lastRunning.Sub(start).Seconds(), note)}
	row.Target, row.Met = target(">= 500", run, 500, false)
	env.report.add(row)
	if ok && size == (launchSize{nodes: 100, tasks: 1000}) && strings.HasSuffix(params, "via=jobs") {
		// One of the targets: 1,000 tasks of one Job on 100 nodes, from apply to all Running.
		row := Row{Scenario: "launch-throughput", Params: params, Measure: "Job apply to all Running",
			Value: lastRunning.Sub(start).Seconds(), Unit: "s"}
		row.Target, row.Met = target("< 3", row.Value, 3, true)
		env.report.add(row)
	}
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

// launchBaseline is what the master had counted when a launch started.
type launchBaseline struct {
	api  apiCounters
	etcd etcdStats
}

// launchBaseline reads the counters reportCosts reports the growth of.
func (m *master) launchBaseline(ctx context.Context) launchBaseline {
	var b launchBaseline
	b.api, _ = m.apiCounts(ctx)
	b.etcd, _ = m.etcdStats(ctx)
	return b
}

// reportCosts adds what a launch of n tasks cost the master over elapsed: its
// mutating API calls per task (the breakdown on stderr with -timeline), the
// embedded etcd's fsyncs, and the watchers its watch cache closed for falling
// behind, with the events of its history it went through for watchers that
// came back (or started).
func reportCosts(ctx context.Context, env *env, m *master, scenario, params string, n int, elapsed time.Duration, before launchBaseline) {
	api, err := m.apiCounts(ctx)
	if err == nil && before.api.writes != nil {
		d := api.writes.since(before.api.writes)
		env.report.add(Row{Scenario: scenario, Params: params, Measure: "API writes per task", Value: d.total() / float64(n), Unit: "calls",
			Note: fmt.Sprintf("%.0f mutating calls in %.1fs, %.0f/s", d.total(), elapsed.Seconds(), d.total()/elapsed.Seconds())})
		if env.timeline {
			fmt.Fprintf(os.Stderr, "bench: %s: mutating calls:\n%s", params, d.per(n, "task"))
		}
	}
	if st, err := m.etcdStats(ctx); err == nil && st.fsyncs > before.etcd.fsyncs {
		d := st.minus(before.etcd)
		count, secs := d.fsyncs, d.fsyncSeconds
		env.report.add(Row{Scenario: scenario, Params: params, Measure: "etcd WAL fsync", Value: 1000 * secs / count, Unit: "ms avg",
			Note: fmt.Sprintf("%.0f fsyncs, %.1fs of %.1fs spent in fsync", count, secs, elapsed.Seconds())})
	}
	if err == nil && before.api.watches != nil {
		d := api.watches.since(before.api.watches)
		var closed, replayed float64
		for k, v := range d {
			switch {
			case strings.HasPrefix(k, "terminated "):
				closed += v
			case strings.HasPrefix(k, "replayed "):
				replayed += v
			}
		}
		env.report.add(Row{Scenario: scenario, Params: params, Measure: "watchers closed for falling behind", Value: closed, Unit: "watches",
			Note: fmt.Sprintf("%.0f events of the cache's history gone through for new and returning watchers (%.1f per task)", replayed, replayed/float64(n))})
		if env.timeline {
			fmt.Fprintf(os.Stderr, "bench: %s: watches during the launch:\n%s", params, d.per(1, "launch"))
		}
	}
}

// reportCPU adds the CPU time the master, and this process (the simulated
// nodes, the frameworks and the watchers), spent per task over elapsed.
func reportCPU(env *env, m *master, scenario, params string, n int, elapsed time.Duration, masterBefore, selfBefore float64) {
	if cpu, err := m.cpuSeconds(); err == nil {
		used := cpu - masterBefore
		env.report.add(Row{Scenario: scenario, Params: params, Measure: "master CPU per task", Value: 1000 * used / float64(n), Unit: "ms",
			Note: fmt.Sprintf("%.1f CPU-s in %.1fs (%.2f cores)", used, elapsed.Seconds(), used/elapsed.Seconds())})
	}
	if cpu, err := processCPUSeconds(os.Getpid()); err == nil {
		used := cpu - selfBefore
		env.report.add(Row{Scenario: scenario, Params: params, Measure: "nodes+frameworks CPU per task", Value: 1000 * used / float64(n), Unit: "ms",
			Note: fmt.Sprintf("%.1f CPU-s in %.1fs (%.2f cores; simulated nodes, frameworks, watchers)", used, elapsed.Seconds(), used/elapsed.Seconds())})
	}
}

// printTimeline adds a row of the tasks the tracker saw dropped (their
// framework launched them again), and prints, with -timeline, its per-second
// counts since start and a few drops' messages.
func printTimeline(env *env, tr *tracker, scenario, params string, start time.Time) {
	n, reasons := tr.dropCount()
	env.report.add(Row{Scenario: scenario, Params: params, Measure: "tasks dropped, launched again", Value: float64(n), Unit: "tasks", Note: reasons})
	if !env.timeline {
		return
	}
	fmt.Fprintf(os.Stderr, "bench: %s: per second since the launch:\n%s", params, tr.timeline(start))
	if d := tr.drops(); d != "" {
		fmt.Fprintf(os.Stderr, "bench: %s: tasks dropped (launched again by their framework):\n%s", params, d)
	}
}
