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
// Kubernetes API SLOs).
type latencies struct {
	mu      sync.Mutex
	byKind  map[string][]time.Duration
	enabled bool
}

func newLatencies() *latencies { return &latencies{byKind: map[string][]time.Duration{}} }

// start begins recording (and forgets what came before).
func (l *latencies) start() {
	l.mu.Lock()
	l.byKind, l.enabled = map[string][]time.Duration{}, true
	l.mu.Unlock()
}

func (l *latencies) record(kind string, d time.Duration) {
	l.mu.Lock()
	if l.enabled {
		l.byKind[kind] = append(l.byKind[kind], d)
	}
	l.mu.Unlock()
}

// percentile returns the p-th percentile of kind and the number of samples.
func (l *latencies) percentile(kind string, p float64) (time.Duration, int) {
	l.mu.Lock()
	ds := slices.Clone(l.byKind[kind])
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

// wrap returns a transport that records l's latencies around rt.
func (l *latencies) wrap(rt http.RoundTripper) http.RoundTripper {
	return timedTransport{next: rt, l: l}
}

type timedTransport struct {
	next http.RoundTripper
	l    *latencies
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
		t.l.record(kind, time.Since(start))
		return resp, err
	}
	// The call ends when its body is read and closed.
	resp.Body = &timedBody{ReadCloser: resp.Body, done: func() { t.l.record(kind, time.Since(start)) }}
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
