package main

import (
	"math"
	"testing"
)

func TestHistogramQuantileInterpolatesWithinItsBucket(t *testing.T) {
	h := histogram{0.1: 90, 0.2: 98, 0.4: 100, math.Inf(1): 100}
	for _, tt := range []struct {
		q, want float64
	}{
		{0.5, 0.1 * 50 / 90},
		{0.9, 0.1},
		{0.94, 0.15},
		{0.99, 0.3},
		{1, 0.4},
	} {
		if got := h.quantile(tt.q); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := (histogram{}).quantile(0.99); got != 0 {
		t.Errorf("an empty histogram's quantile is %v, want 0", got)
	}
	past := histogram{0.1: 1, 1: 2, math.Inf(1): 10}
	if got := past.quantile(0.99); got != 1 {
		t.Errorf("a quantile past the last bound is %v, want that bound", got)
	}
}

func TestDurationsSinceAndWorstPair(t *testing.T) {
	before := durations{"leases PUT": {0.1: 100, math.Inf(1): 100}}
	after := durations{
		"leases PUT":         {0.1: 300, math.Inf(1): 300},
		"tasks/status PATCH": {0.1: 50, 1: 150, math.Inf(1): 150},
		"offers POST":        {0.1: 0, 1: 0, 5: 10, math.Inf(1): 10},
	}
	d := after.since(before)
	if got := d["leases PUT"].count(); got != 200 {
		t.Fatalf("leases since = %v calls, want 200", got)
	}
	if got := d.all().count(); got != 360 {
		t.Fatalf("all = %v calls, want 360", got)
	}
	pair, _, calls := d.worst(0.99, 100)
	if pair != "tasks/status PATCH" || calls != 150 {
		t.Fatalf("worst = %s (%v calls), want tasks/status PATCH of 150: pairs of fewer than 100 calls are left out", pair, calls)
	}
}
