package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// durations are the master's histograms of how long it took to serve its
// mutating calls (apiserver_request_duration_seconds, from the moment a
// request reaches it, its queueing by priority and fairness included), by
// "resource/subresource VERB": the measure Kubernetes states its API latency
// SLO on, per (resource, verb) pair.
type durations map[string]histogram

// histogram is a cumulative Prometheus histogram: counts by upper bound.
type histogram map[float64]float64

// serverDurations reads the master's histograms of its mutating calls.
func (m *master) serverDurations(ctx context.Context) (durations, error) {
	out := durations{}
	err := m.eachSample(ctx, func(name string, labels map[string]string, value float64) {
		if name != "apiserver_request_duration_seconds_bucket" || !mutatingVerbs[labels["verb"]] {
			return
		}
		le, err := strconv.ParseFloat(labels["le"], 64)
		if err != nil {
			return // +Inf parses; anything else is not a bucket
		}
		key := callKey(labels)
		if out[key] == nil {
			out[key] = histogram{}
		}
		out[key][le] += value
	})
	return out, err
}

// since returns the calls served after before was read.
func (d durations) since(before durations) durations {
	out := durations{}
	for key, h := range d {
		delta := histogram{}
		for le, n := range h {
			delta[le] = n - before[key][le]
		}
		out[key] = delta
	}
	return out
}

// all returns the histogram of every call, whatever its pair.
func (d durations) all() histogram {
	out := histogram{}
	for _, h := range d {
		for le, n := range h {
			out[le] += n
		}
	}
	return out
}

// count returns how many calls h holds.
func (h histogram) count() float64 { return h[math.Inf(1)] }

// quantile returns the q-th quantile (0-1) of h, interpolated within its
// bucket as Prometheus' histogram_quantile does; the largest finite bound
// when it falls past it, 0 when h is empty.
func (h histogram) quantile(q float64) float64 {
	total := h.count()
	if total == 0 {
		return 0
	}
	bounds := make([]float64, 0, len(h))
	for le := range h {
		bounds = append(bounds, le)
	}
	slices.Sort(bounds)
	rank, lower, below := q*total, 0.0, 0.0
	for _, le := range bounds {
		if h[le] < rank {
			lower, below = le, h[le]
			continue
		}
		if math.IsInf(le, 1) {
			return lower
		}
		return lower + (le-lower)*(rank-below)/max(h[le]-below, 1)
	}
	return lower
}

// worst returns the pair with the highest q-th quantile among those with at
// least minCalls calls, with that quantile and its count.
func (d durations) worst(q float64, minCalls float64) (pair string, value, calls float64) {
	for key, h := range d {
		if h.count() < minCalls {
			continue
		}
		if v := h.quantile(q); pair == "" || v > value {
			pair, value, calls = key, v, h.count()
		}
	}
	return pair, value, calls
}

// reportServerLatency adds the p99 of the mutating calls the master served
// since before, by its own measure, with the worst (resource, verb) pair of
// at least a hundred calls: beside the latency the clients saw, it tells a
// wait in the master from one in the clients or between them and it.
func reportServerLatency(ctx context.Context, env *env, m *master, scenario, params, while string, before durations) {
	after, err := m.serverDurations(ctx)
	if err != nil || before == nil {
		return
	}
	d := after.since(before)
	all := d.all()
	if all.count() == 0 {
		return
	}
	note := fmt.Sprintf("%.0f calls", all.count())
	if pair, p99, calls := d.worst(0.99, 100); pair != "" {
		note += fmt.Sprintf("; worst pair %s: %.0f ms (%.0f calls)", pair, 1000*p99, calls)
	}
	env.report.add(Row{Scenario: scenario, Params: params, Measure: "mutating p99 in the master, " + while, Value: 1000 * all.quantile(0.99), Unit: "ms", Note: note})
}
