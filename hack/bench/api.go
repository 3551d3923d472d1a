package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/simulate"
	"meseta.dev/meseta/pkg/sdk"
	"meseta.dev/meseta/pkg/security"
)

// benchAPI loads one master with simulated nodes and running tasks (launched
// by ten SDK frameworks, each its own service account, as every node speaks as
// its own agent) and reports the p50 and p99 of every mutating and
// read call made during the launch, and apart those made in a steady window
// once every task runs and the master's queues are empty (each p99 with the
// figure of each source of calls): the simulated agents' own calls (Node status, Leases, Task
// finalizers and status), the frameworks' (Task creates, Offer declines) and
// a prober's (ConfigMap create and delete; Node get, Task list), then the
// master's RSS at the end and at its peak, and the etcd database size.
func benchAPI(ctx context.Context, env *env) {
	nodes, tasks, steady := 5000, 50000, 60*time.Second
	if env.short {
		nodes, tasks, steady = 500, 5000, 15*time.Second
	}
	params := fmt.Sprintf("nodes=%d tasks=%d", nodes, tasks)
	if env.memoryLimit != "" {
		params += " memory-limit=" + env.memoryLimit
	}
	if err := runAPI(ctx, env, nodes, tasks, steady, params); err != nil {
		env.report.fail("api", params, err)
	}
}

func runAPI(ctx context.Context, env *env, nodes, tasks int, steady time.Duration, params string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m, err := startMaster(ctx, env)
	if err != nil {
		return err
	}
	defer m.stop()
	rec := newLatencies()
	regStart := time.Now()
	if _, err := startFleet(ctx, env, m, nodes, rec); err != nil {
		return err
	}
	env.report.add(Row{Scenario: "api", Params: params, Measure: "nodes registered", Value: float64(nodes) / time.Since(regStart).Seconds(), Unit: "nodes/s"})
	tr, err := trackTasks(ctx, m, "")
	if err != nil {
		return err
	}
	cfg := m.config()
	cfg.WrapTransport = rec.wrapFor("frameworks")
	const frameworks = 10
	c, err := m.client()
	if err != nil {
		return err
	}
	// Each framework is a process of its own (a manager, a cache of its
	// namespace) with an identity of its own, as in a real cluster: the
	// master queues and limits it in the frameworks' priority level.
	loads := make([]*relauncher, frameworks)
	drivers := make([]*sdk.Driver, frameworks)
	for i := range loads {
		ns := fmt.Sprintf("api-%02d", i)
		if err := ensureNamespace(ctx, c, ns); err != nil {
			return err
		}
		fwCfg, err := asServiceAccount(ctx, c, cfg, ns, "load")
		if err != nil {
			return err
		}
		mgr, err := frameworkManager(ctx, fwCfg, ns)
		if err != nil {
			return err
		}
		loads[i] = newRelauncher(fmt.Sprintf("load-%d", i), "load", tasks/frameworks)
		if drivers[i], err = sdk.Register(mgr, sdk.Framework{Name: "load", Namespace: ns}, loads[i].queue); err != nil {
			return err
		}
		go func() { _ = mgr.Start(ctx) }()
	}
	if err := waitActive(ctx, drivers...); err != nil {
		return err
	}
	probeCfg, err := asProber(ctx, c, cfg, rec)
	if err != nil {
		return err
	}
	rec.start()
	go probe(ctx, probeCfg, nodes)
	before := m.launchBaseline(ctx)
	start := time.Now()
	for _, l := range loads {
		l.start()
	}
	ok := tr.waitRunning(ctx, tasks, 30*time.Minute)
	_, running, _, lastRunning := tr.counts()
	note := ""
	if !ok {
		note, lastRunning = fmt.Sprintf("only %d Running after 30 minutes", running), time.Now()
	}
	printTimeline(env, tr, "api", params, start)
	env.report.add(Row{Scenario: "api", Params: params, Measure: "placed and Running", Value: float64(running) / lastRunning.Sub(start).Seconds(),
		Unit: "tasks/s", Note: fmt.Sprintf("%d Running in %.0fs %s", running, lastRunning.Sub(start).Seconds(), note)})
	reportLatencies(env, rec, params, "during the launch", false)
	reportCosts(ctx, env, m, "api", params, running, lastRunning.Sub(start), before)
	// The launch's last writes may still wait in the master's queues, and
	// the offers of the nodes it left free are still outstanding: the steady
	// window starts once the writes are served and the offers rescinded.
	settled := m.settle(ctx, 3*time.Minute)
	rec.start()
	masterBefore, _ := m.cpuSeconds()
	selfBefore, _ := processCPUSeconds(os.Getpid())
	writesBefore, _ := m.apiWrites(ctx)
	etcdBefore, _ := m.etcdStats(ctx)
	gcBefore, _ := m.collectorStats(ctx)
	durationsBefore, _ := m.serverDurations(ctx)
	if env.profiles != "" {
		m.profileCPU(ctx, min(steady, 30*time.Second), env.profilePath("api-steady", params))
	}
	time.Sleep(steady)
	while := fmt.Sprintf("steady, %d Running, %s after %.0fs settling", running, steady, settled.Seconds())
	reportLatencies(env, rec, params, while, ok)
	reportServerLatency(ctx, env, m, "api", params, while, durationsBefore)
	reportSteadyCPU(env, m, params, while, steady, masterBefore, selfBefore)
	reportSteadyCollector(ctx, env, m, params, while, steady, gcBefore)
	reportSteadyWrites(ctx, env, m, params, while, steady, writesBefore)
	reportSteadyEtcd(ctx, env, m, params, while, etcdBefore)
	if env.profiles != "" {
		m.profileHeap(ctx, env.profilePath("api-heap", params))
	}
	for _, rss := range []struct {
		measure string
		read    func() (int64, error)
	}{{"master RSS", m.rssBytes}, {"master RSS, peak (high-water mark)", m.peakRSSBytes}} {
		if b, err := rss.read(); err == nil {
			row := Row{Scenario: "api", Params: params, Measure: rss.measure, Value: float64(b) / (1 << 20), Unit: "MiB"}
			row.Target, row.Met = target("< 4096", row.Value, 4096, true)
			if rss.measure == "master RSS" {
				row.Note = residentNote(m)
			}
			env.report.add(row)
		}
	}
	if db, err := m.etcdBytes(); err == nil {
		env.report.add(Row{Scenario: "api", Params: params, Measure: "etcd db size", Value: float64(db) / (1 << 20), Unit: "MiB"})
	}
	return nil
}

// residentNote says what the master's resident memory is made of now: its
// anonymous pages (the Go runtime's) and its file pages (the embedded etcd's
// mapped database, the executable), which --memory-limit counts too.
func residentNote(m *master) string {
	anon, errA := m.procStatusBytes("RssAnon:")
	file, errF := m.procStatusBytes("RssFile:")
	if errA != nil || errF != nil {
		return ""
	}
	return fmt.Sprintf("anonymous %d MiB, file pages %d MiB (etcd's mapped database, the executable)", anon>>20, file>>20)
}

// reportSteadyEtcd adds the embedded etcd's applies slower than 100 ms in
// the steady window, with its compactions and its commits and fsyncs then:
// what to look at first when the steady p99 misses.
func reportSteadyEtcd(ctx context.Context, env *env, m *master, params, while string, before etcdStats) {
	st, err := m.etcdStats(ctx)
	if err != nil {
		return
	}
	d := st.minus(before)
	note := fmt.Sprintf("%.0f compactions (%.1fs); backend commits %.2f ms avg, %.0f over %ss; WAL fsyncs %.2f ms avg, %.0f over %ss",
		d.compactions, d.compactionSeconds, 1000*d.commitSeconds/max(d.commits, 1), d.commits-d.fastCommits, slowDisk,
		1000*d.fsyncSeconds/max(d.fsyncs, 1), d.fsyncs-d.fastFsyncs, slowDisk)
	env.report.add(Row{Scenario: "api", Params: params, Measure: "etcd slow applies (over 100 ms), " + while, Value: d.slowApplies, Unit: "applies", Note: note})
}

// reportSteadyCPU adds the cores the master, and this process (the simulated
// nodes and the frameworks), used in the steady window: what holding the
// cluster costs when nothing is launched.
func reportSteadyCPU(env *env, m *master, params, while string, d time.Duration, masterBefore, selfBefore float64) {
	if cpu, err := m.cpuSeconds(); err == nil {
		env.report.add(Row{Scenario: "api", Params: params, Measure: "master CPU, " + while, Value: (cpu - masterBefore) / d.Seconds(), Unit: "cores"})
	}
	if cpu, err := processCPUSeconds(os.Getpid()); err == nil {
		env.report.add(Row{Scenario: "api", Params: params, Measure: "nodes+frameworks CPU, " + while, Value: (cpu - selfBefore) / d.Seconds(), Unit: "cores"})
	}
}

// reportSteadyCollector adds the cores the master's garbage collector used
// in the steady window, with its cycles and the heap it found live: what the
// cluster's state held in memory costs to keep.
func reportSteadyCollector(ctx context.Context, env *env, m *master, params, while string, d time.Duration, before collectorStats) {
	st, err := m.collectorStats(ctx)
	if err != nil || before.cycles == 0 || st.cycles == 0 {
		return // not read at the start, or a master that does not export them
	}
	env.report.add(Row{Scenario: "api", Params: params, Measure: "master GC CPU, " + while, Value: (st.cpuSeconds - before.cpuSeconds) / d.Seconds(), Unit: "cores",
		Note: fmt.Sprintf("%.0f cycles; %.0f MiB live after the last", st.cycles-before.cycles, st.liveBytes/(1<<20))})
}

// reportSteadyWrites adds the mutating calls per second the master served in
// the steady window (by resource and verb on stderr with -timeline): the
// writes that holding the cluster costs.
func reportSteadyWrites(ctx context.Context, env *env, m *master, params, while string, d time.Duration, before counts) {
	writes, err := m.apiWrites(ctx)
	if err != nil || before == nil {
		return
	}
	delta := writes.since(before)
	env.report.add(Row{Scenario: "api", Params: params, Measure: "mutating calls, " + while, Value: delta.total() / d.Seconds(), Unit: "calls/s"})
	if env.timeline {
		fmt.Fprintf(os.Stderr, "bench: %s: mutating calls per second, %s:\n%s", params, while, delta.per(int(d.Seconds()), "second"))
	}
}

// reportLatencies adds the p50 and p99 of the mutating and read calls rec
// holds, made while; the mutating p99 is held to the target when withTarget
// (the cluster holds all its tasks: the load the Kubernetes SLO is stated for;
// a launch that pushes the master as fast as it goes measures its queues).
func reportLatencies(env *env, rec *latencies, params, while string, withTarget bool) {
	for _, kind := range []string{"mutating", "read"} {
		p50, n := rec.percentile(kind, 50)
		p99, _ := rec.percentile(kind, 99)
		env.report.add(Row{Scenario: "api", Params: params, Measure: kind + " p50, " + while, Value: ms(p50), Unit: "ms", Note: fmt.Sprintf("%d calls", n)})
		row := Row{Scenario: "api", Params: params, Measure: kind + " p99, " + while, Value: ms(p99), Unit: "ms",
			Note: sourcesNote(rec.bySourcePercentile(kind, 99))}
		if kind == "mutating" && withTarget {
			row.Target, row.Met = target("< 1000", row.Value, 1000, true)
		}
		env.report.add(row)
	}
}

// prober is the user the probe's calls are made as: an ordinary person who
// may read Meseta's kinds and edit the probe's namespace, so the master
// queues the probe as it queues anyone's requests (an admin's are exempt from
// its priority and fairness, and would measure nothing of its queues).
const prober = "bench-prober"

// asProber gives the prober its rights and returns cfg impersonating it.
func asProber(ctx context.Context, c client.Client, cfg *rest.Config, rec *latencies) (*rest.Config, error) {
	const ns = "bench-probe"
	if err := ensureNamespace(ctx, c, ns); err != nil {
		return nil, err
	}
	subject := []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: prober}}
	bindings := []client.Object{
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: prober},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: security.ViewerRole}, Subjects: subject},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: prober},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"}, Subjects: subject},
	}
	for _, b := range bindings {
		if err := c.Create(ctx, b); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	out := rest.CopyConfig(cfg)
	out.WrapTransport = rec.wrapFor("prober")
	out.Impersonate = rest.ImpersonationConfig{UserName: prober, Groups: []string{user.AllAuthenticated}}
	return out, nil
}

// sourcesNote says each source's figure: "agents 12 ms (900 calls), ...".
func sourcesNote(figures map[string]sourceFigure) string {
	var parts []string
	for _, source := range slices.Sorted(maps.Keys(figures)) {
		f := figures[source]
		parts = append(parts, fmt.Sprintf("%s %.0f ms (%d calls)", source, ms(f.value), f.n))
	}
	return strings.Join(parts, ", ")
}

// probe makes, until ctx ends, five ConfigMap creates and deletes, five Node
// gets and five lists of a page of Tasks a second, through cfg (whose
// transport records their latencies).
func probe(ctx context.Context, cfg *rest.Config, nodes int) {
	c, err := client.New(cfg, client.Options{Scheme: sdk.Scheme()})
	if err != nil {
		return
	}
	names := simulate.NodeNames("sim", nodes)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	refused := false
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe-" + strconv.Itoa(i), Namespace: "bench-probe"},
			Data: map[string]string{"i": strconv.Itoa(i)}}
		err := c.Create(ctx, cm)
		if err == nil {
			err = c.Delete(ctx, cm)
		}
		err = errors.Join(err,
			c.Get(ctx, client.ObjectKey{Name: names[rand.IntN(len(names))]}, &v1alpha1.Node{}),
			c.List(ctx, &v1alpha1.TaskList{}, client.InNamespace("api-00"), client.Limit(100)))
		if apierrors.IsForbidden(err) && !refused {
			refused = true // a refused call measures nothing: say so once
			fmt.Fprintf(os.Stderr, "bench: the probe's calls are refused: %v\n", err)
		}
	}
}
