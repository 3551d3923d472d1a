package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
)

// counts are counters the master keeps, by key: "resource/subresource VERB"
// for its mutating calls (apiCounts' writes), "measure resource" for its
// watches (apiCounts' watches).
type counts map[string]float64

// total returns the sum over every resource.
func (w counts) total() float64 {
	var n float64
	for _, v := range w {
		n += v
	}
	return n
}

// since returns what happened between before and w.
func (w counts) since(before counts) counts {
	out := counts{}
	for k, v := range w {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// per formats the calls per unit (n of them: tasks, seconds), largest first.
func (w counts) per(n int, unit string) string {
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return w[keys[i]] > w[keys[j]] })
	var b strings.Builder
	for _, k := range keys {
		if per := w[k] / float64(n); per >= 0.01 {
			fmt.Fprintf(&b, "  %-40s %8.0f  %7.2f per %s\n", k, w[k], per, unit)
		}
	}
	return b.String()
}

// mutatingVerbs are the verbs of apiserver_request_total that write.
var mutatingVerbs = map[string]bool{"POST": true, "PUT": true, "PATCH": true, "APPLY": true, "DELETE": true}

// callKey names the calls of a sample of the master's request metrics:
// "resource/subresource VERB".
func callKey(labels map[string]string) string {
	key := labels["resource"]
	if s := labels["subresource"]; s != "" {
		key += "/" + s
	}
	return key + " " + labels["verb"]
}

// apiWrites reads the master's apiserver_request_total and returns its
// mutating calls.
func (m *master) apiWrites(ctx context.Context) (counts, error) {
	c, err := m.apiCounts(ctx)
	return c.writes, err
}

// apiCounters are the master's counters of calls and watches, read at once.
type apiCounters struct {
	// writes are the mutating calls (apiserver_request_total), by
	// "resource/subresource VERB".
	writes counts
	// watches are by "measure resource": watches opened
	// (apiserver_request_total, verb WATCH), the events of the watch
	// cache's history each new watch went through before it caught up
	// (apiserver_init_events_total: those it selects are copied and encoded
	// for that watcher alone; a watch of one node's tasks goes through every
	// task's events since its version and is sent its node's), and the
	// watchers the cache closed for falling behind
	// (apiserver_terminated_watchers_total: each comes back and replays).
	watches counts
}

// apiCounts reads the master's /metrics once and returns its apiCounters.
func (m *master) apiCounts(ctx context.Context) (apiCounters, error) {
	out := apiCounters{writes: counts{}, watches: counts{}}
	err := m.eachSample(ctx, func(name string, labels map[string]string, value float64) {
		switch {
		case name == "apiserver_request_total" && mutatingVerbs[labels["verb"]]:
			out.writes[callKey(labels)] += value
		case name == "apiserver_request_total" && labels["verb"] == "WATCH":
			out.watches["opened "+labels["resource"]] += value
		case name == "apiserver_init_events_total":
			out.watches["replayed "+labels["resource"]] += value
		case name == "apiserver_terminated_watchers_total":
			out.watches["terminated "+labels["resource"]] += value
		}
	})
	return out, err
}

// eachSample reads the master's /metrics and calls visit with each sample.
func (m *master) eachSample(ctx context.Context, visit func(name string, labels map[string]string, value float64)) error {
	cs, err := kubernetes.NewForConfig(m.config())
	if err != nil {
		return err
	}
	data, err := cs.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("failed to read the master's metrics: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, labels, value, ok := parseSample(line); ok {
			visit(name, labels, value)
		}
	}
	return nil
}

// backlog reads what the master still has to work through: the requests
// waiting in its priority levels' queues
// (apiserver_flowcontrol_current_inqueue_requests) and its outstanding
// offers (meseta_allocator_offers_outstanding; once every framework has
// suppressed offers, each is rescinded and deleted, a few writes apiece).
func (m *master) backlog(ctx context.Context) (queued, offers float64, err error) {
	err = m.eachSample(ctx, func(name string, _ map[string]string, value float64) {
		switch name {
		case "apiserver_flowcontrol_current_inqueue_requests":
			queued += value
		case "meseta_allocator_offers_outstanding":
			offers += value
		}
	})
	return queued, offers, err
}

// settle waits until the master has no backlog (see backlog) at three reads
// a second apart, or until max passed, and returns how long it waited.
func (m *master) settle(ctx context.Context, max time.Duration) time.Duration {
	start := time.Now()
	for calm := 0; calm < 3 && time.Since(start) < max; {
		select {
		case <-ctx.Done():
			return time.Since(start)
		case <-time.After(time.Second):
		}
		if q, o, err := m.backlog(ctx); err == nil && q == 0 && o == 0 {
			calm++
		} else {
			calm = 0
		}
	}
	return time.Since(start)
}

// etcdStats are counters of the embedded etcd's own metrics: what its
// write-ahead log spent in fsync, its backend commits, how many of each took
// longer than slowDisk, the applies it found slow (over 100 ms) and its
// compactions.
type etcdStats struct {
	fsyncs, fsyncSeconds, fastFsyncs    float64
	commits, commitSeconds, fastCommits float64
	slowApplies                         float64
	compactions, compactionSeconds      float64
}

// slowDisk is the bucket of etcd's disk histograms (le, in seconds) past
// which a WAL fsync or a backend commit counts as slow: every write waits
// behind one.
const slowDisk = "0.128"

// minus returns the counts since before.
func (s etcdStats) minus(before etcdStats) etcdStats {
	return etcdStats{
		fsyncs: s.fsyncs - before.fsyncs, fsyncSeconds: s.fsyncSeconds - before.fsyncSeconds, fastFsyncs: s.fastFsyncs - before.fastFsyncs,
		commits: s.commits - before.commits, commitSeconds: s.commitSeconds - before.commitSeconds, fastCommits: s.fastCommits - before.fastCommits,
		slowApplies: s.slowApplies - before.slowApplies,
		compactions: s.compactions - before.compactions, compactionSeconds: s.compactionSeconds - before.compactionSeconds,
	}
}

// etcdStats reads the embedded etcd's own metrics (its HTTP port, with the
// master's etcd client certificate; the client port serves gRPC alone).
func (m *master) etcdStats(ctx context.Context) (etcdStats, error) {
	raw, err := os.ReadFile(filepath.Join(m.dataDir, "etcd", "ports.json"))
	if err != nil {
		return etcdStats{}, err
	}
	var ports struct {
		HTTP int `json:"http"`
	}
	if err := json.Unmarshal(raw, &ports); err != nil {
		return etcdStats{}, err
	}
	if ports.HTTP == 0 {
		return etcdStats{}, fmt.Errorf("%s names no HTTP port of etcd", filepath.Join(m.dataDir, "etcd", "ports.json"))
	}
	pki := filepath.Join(m.dataDir, "pki")
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "etcd-client.crt"), filepath.Join(pki, "etcd-client.key"))
	if err != nil {
		return etcdStats{}, err
	}
	ca, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		return etcdStats{}, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://127.0.0.1:"+strconv.Itoa(ports.HTTP)+"/metrics", nil)
	if err != nil {
		return etcdStats{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return etcdStats{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return etcdStats{}, err
	}
	var st etcdStats
	counters := map[string]*float64{
		"etcd_disk_wal_fsync_duration_seconds_count":                          &st.fsyncs,
		"etcd_disk_wal_fsync_duration_seconds_sum":                            &st.fsyncSeconds,
		"etcd_disk_backend_commit_duration_seconds_count":                     &st.commits,
		"etcd_disk_backend_commit_duration_seconds_sum":                       &st.commitSeconds,
		"etcd_server_slow_apply_total":                                        &st.slowApplies,
		"etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_count": &st.compactions,
		"etcd_debugging_mvcc_db_compaction_total_duration_milliseconds_sum":   &st.compactionSeconds,
	}
	buckets := map[string]*float64{
		"etcd_disk_wal_fsync_duration_seconds_bucket":      &st.fastFsyncs,
		"etcd_disk_backend_commit_duration_seconds_bucket": &st.fastCommits,
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, labels, value, ok := parseSample(line)
		if !ok {
			continue
		}
		if c := counters[name]; c != nil {
			*c = value
		}
		if c := buckets[name]; c != nil && labels["le"] == slowDisk {
			*c = value
		}
	}
	st.compactionSeconds /= 1000
	return st, nil
}

// parseSample parses one line of the Prometheus text format:
// name{a="b",...} value.
func parseSample(line string) (name string, labels map[string]string, value float64, ok bool) {
	if line == "" || line[0] == '#' {
		return "", nil, 0, false
	}
	sp := strings.LastIndexByte(line, ' ')
	if sp < 0 {
		return "", nil, 0, false
	}
	value, err := strconv.ParseFloat(line[sp+1:], 64)
	if err != nil {
		return "", nil, 0, false
	}
	head := line[:sp]
	labels = map[string]string{}
	if br := strings.IndexByte(head, '{'); br >= 0 {
		name = head[:br]
		for _, pair := range strings.Split(strings.TrimSuffix(head[br+1:], "}"), ",") {
			if k, v, found := strings.Cut(pair, "="); found {
				labels[k] = strings.Trim(v, `"`)
			}
		}
	} else {
		name = head
	}
	return name, labels, value, true
}

// profileCPU writes the master's CPU profile of the next d to path, in the
// background; the returned channel is closed when it is written.
func (m *master) profileCPU(ctx context.Context, d time.Duration, path string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		cs, err := kubernetes.NewForConfig(m.config())
		if err != nil {
			return
		}
		data, err := cs.RESTClient().Get().AbsPath("/debug/pprof/profile").
			Param("seconds", strconv.Itoa(int(d.Seconds()))).Timeout(d + time.Minute).DoRaw(ctx)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: no CPU profile: %v\n", err)
			return
		}
		if err := os.WriteFile(path, data, 0o644); err == nil {
			fmt.Fprintf(os.Stderr, "bench: the master's CPU profile: %s (go tool pprof -top %s)\n", path, path)
		}
	}()
	return done
}

// profileSelf starts a CPU profile of the bench's own process (its simulated
// nodes, frameworks and watchers) written to path, and returns what stops it.
func profileSelf(path string) (stop func()) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: no CPU profile of the bench: %v\n", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintf(os.Stderr, "bench: no CPU profile of the bench: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		fmt.Fprintf(os.Stderr, "bench: the bench's own CPU profile (simulated nodes, frameworks, watchers): %s\n", path)
	}
}

// profileHeap writes the master's heap profile (after a garbage collection)
// to path: what holds its memory (go tool pprof -sample_index=inuse_space
// -top FILE).
func (m *master) profileHeap(ctx context.Context, path string) {
	cs, err := kubernetes.NewForConfig(m.config())
	if err != nil {
		return
	}
	data, err := cs.RESTClient().Get().AbsPath("/debug/pprof/heap").Param("gc", "1").Timeout(time.Minute).DoRaw(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: no heap profile: %v\n", err)
		return
	}
	if err := os.WriteFile(path, data, 0o644); err == nil {
		fmt.Fprintf(os.Stderr, "bench: the master's heap profile: %s (go tool pprof -sample_index=inuse_space -top %s)\n", path, path)
	}
}

// profilePath is where, under -profiles, the profile of a kind ("launch",
// "api-heap") of the scenario run with params goes.
func (e *env) profilePath(kind, params string) string {
	return filepath.Join(e.profiles, kind+"-"+strings.ReplaceAll(strings.ReplaceAll(params, " ", "-"), "=", "")+".pprof")
}

// collectorStats are the master's Go runtime figures of its garbage
// collector (runtime/metrics, as its /metrics exports them): the CPU it
// spent collecting, its cycles, and the heap the last cycle found live.
type collectorStats struct {
	cpuSeconds, cycles, liveBytes float64
}

// collectorStats reads the master's collector figures.
func (m *master) collectorStats(ctx context.Context) (collectorStats, error) {
	var st collectorStats
	err := m.eachSample(ctx, func(name string, _ map[string]string, value float64) {
		switch name {
		case "go_cpu_classes_gc_total_cpu_seconds_total":
			st.cpuSeconds = value
		case "go_gc_cycles_total_gc_cycles_total":
			st.cycles = value
		case "go_gc_heap_live_bytes":
			st.liveBytes = value
		}
	})
	return st, err
}
