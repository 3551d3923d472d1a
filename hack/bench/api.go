package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"meseta.dev/meseta/apis/v1alpha1"
	"meseta.dev/meseta/pkg/agent/simulate"
	"meseta.dev/meseta/pkg/sdk"
)

// benchAPI loads one master with simulated nodes and running tasks (launched
// by ten SDK frameworks, each its own service account, as every node speaks as
// its own agent) and reports the p50 and p99 of every mutating and
// read call made during the launch, and apart those made in a steady window
// once every task runs: the simulated agents' own calls (Node status, Leases, Task
// finalizers and status), the frameworks' (Task creates, Offer declines) and
// a prober's (ConfigMap create and delete; Node get, Task list), then the
// master's RSS and the etcd database size.
func benchAPI(ctx context.Context, env *env) {
	nodes, tasks, steady := 5000, 50000, 60*time.Second
	if env.short {
		nodes, tasks, steady = 500, 5000, 15*time.Second
	}
	params := fmt.Sprintf("nodes=%d tasks=%d", nodes, tasks)
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
	if _, err := startFleet(ctx, m, nodes, rec); err != nil {
		return err
	}
	env.report.add(Row{Scenario: "api", Params: params, Measure: "nodes registered", Value: float64(nodes) / time.Since(regStart).Seconds(), Unit: "nodes/s"})
	tr, err := trackTasks(ctx, m, "")
	if err != nil {
		return err
	}
	cfg := m.config()
	cfg.WrapTransport = rec.wrap
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
	rec.start()
	go probe(ctx, rest.CopyConfig(cfg), nodes)
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
	env.report.add(Row{Scenario: "api", Params: params, Measure: "placed and Running", Value: float64(running) / lastRunning.Sub(start).Seconds(),
		Unit: "tasks/s", Note: fmt.Sprintf("%d Running in %.0fs %s", running, lastRunning.Sub(start).Seconds(), note)})
	reportLatencies(env, rec, params, "during the launch", false)
	rec.start()
	time.Sleep(steady)
	reportLatencies(env, rec, params, fmt.Sprintf("steady, %d Running, %s", running, steady), ok)
	if rss, err := m.rssBytes(); err == nil {
		row := Row{Scenario: "api", Params: params, Measure: "master RSS", Value: float64(rss) / (1 << 20), Unit: "MiB"}
		row.Target, row.Met = target("< 4096", row.Value, 4096, true)
		env.report.add(row)
	}
	if db, err := m.etcdBytes(); err == nil {
		env.report.add(Row{Scenario: "api", Params: params, Measure: "etcd db size", Value: float64(db) / (1 << 20), Unit: "MiB"})
	}
	return nil
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
		row := Row{Scenario: "api", Params: params, Measure: kind + " p99, " + while, Value: ms(p99), Unit: "ms"}
		if kind == "mutating" && withTarget {
			row.Target, row.Met = target("< 1000", row.Value, 1000, true)
		}
		env.report.add(row)
	}
}

// probe makes, until ctx ends, five ConfigMap creates and deletes, five Node
// gets and five lists of a page of Tasks a second, through cfg (whose
// transport records their latencies).
func probe(ctx context.Context, cfg *rest.Config, nodes int) {
	c, err := client.New(cfg, client.Options{Scheme: sdk.Scheme()})
	if err != nil {
		return
	}
	_ = ensureNamespace(ctx, c, "bench-probe")
	names := simulate.NodeNames("sim", nodes)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe-" + strconv.Itoa(i), Namespace: "bench-probe"},
			Data: map[string]string{"i": strconv.Itoa(i)}}
		if c.Create(ctx, cm) == nil {
			_ = c.Delete(ctx, cm)
		}
		_ = c.Get(ctx, client.ObjectKey{Name: names[rand.IntN(len(names))]}, &v1alpha1.Node{})
		_ = c.List(ctx, &v1alpha1.TaskList{}, client.InNamespace("api-00"), client.Limit(100))
	}
}
