package main

import (
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// latencies records how long each request took, by kind: "mutating" (POST,
// PUT, PATCH, DELETE) or "read" (GET, watches left out, as in the
// Kubernetes API SLOs), and apart by who made it (the source of the
// transport that carried it).
type latencies struct {
	mu       sync.Mutex
	bySource map[string]map[string][]time.Duration // source, then kind
	enabled  bool
}

func newLatencies() *latencies { return &latencies{} }

// start begins recording (and forgets what came before).
func (l *latencies) start() {
	l.mu.Lock()
	l.bySource, l.enabled = map[string]map[string][]time.Duration{}, true
	l.mu.Unlock()
}

func (l *latencies) record(source, kind string, d time.Duration) {
	l.mu.Lock()
	if l.enabled {
		if l.bySource[source] == nil {
			l.bySource[source] = map[string][]time.Duration{}
		}
		l.bySource[source][kind] = append(l.bySource[source][kind], d)
	}
	l.mu.Unlock()
}

// bySourcePercentile returns, per source, the p-th percentile of kind and
// the number of samples.
func (l *latencies) bySourcePercentile(kind string, p float64) map[string]sourceFigure {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]sourceFigure{}
	for source, kinds := range l.bySource {
		if ds := kinds[kind]; len(ds) > 0 {
			out[source] = sourceFigure{value: percentile(ds, p), n: len(ds)}
		}
	}
	return out
}

// sourceFigure is one source's percentile and how many calls it is of.
type sourceFigure struct {
	value time.Duration
	n     int
}

// percentile returns the p-th percentile of kind, all sources together, and
// the number of samples.
func (l *latencies) percentile(kind string, p float64) (time.Duration, int) {
	l.mu.Lock()
	var ds []time.Duration
	for _, kinds := range l.bySource {
		ds = append(ds, kinds[kind]...)
	}
	l.mu.Unlock()
	return percentile(ds, p), len(ds)
}

// percentile returns the p-th percentile (0-100) of ds, 0 when empty.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	i := int(float64(len(ds)) * p / 100)
	return ds[min(i, len(ds)-1)]
}

// wrapFor returns a transport wrapper that records l's latencies around rt
// as source's.
func (l *latencies) wrapFor(source string) func(http.RoundTripper) http.RoundTripper {
	return func(rt http.RoundTripper) http.RoundTripper { return timedTransport{next: rt, l: l, source: source} }
}

type timedTransport struct {
	next   http.RoundTripper
	l      *latencies
	source string
}

func (t timedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	kind := "mutating"
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		if req.URL.Query().Get("watch") == "true" || req.URL.Query().Get("watch") == "1" {
			return t.next.RoundTrip(req)
		}
		kind = "read"
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		t.l.record(t.source, kind, time.Since(start))
		return resp, err
	}
	// The call ends when its body is read and closed.
	resp.Body = &timedBody{ReadCloser: resp.Body, done: func() { t.l.record(t.source, kind, time.Since(start)) }}
	return resp, nil
}

type timedBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *timedBody) Close() error {
	b.once.Do(b.done)
	return b.ReadCloser.Close()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
