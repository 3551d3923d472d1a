package memlimit

import (
	"context"
	"math"
	"testing"
	"time"
)

func TestRuntimeLimit(t *testing.T) {
	const gi = int64(1 << 30)
	for _, tc := range []struct {
		name          string
		limit, mapped int64
		want          int64
	}{
		{"nothing mapped", 4 * gi, 0, 4 * gi},
		{"mapped pages leave the rest", 4 * gi, gi / 2, 4*gi - gi/2},
		{"never below half the limit", 4 * gi, 3 * gi, 2 * gi},
		{"no limit", 0, gi, 0},
		{"the runtime's no-limit", math.MaxInt64, gi, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RuntimeLimit(tc.limit, tc.mapped); got != tc.want {
				t.Fatalf("RuntimeLimit(%d, %d) = %d, want %d", tc.limit, tc.mapped, got, tc.want)
			}
		})
	}
}

func TestNextRuntimeLimit(t *testing.T) {
	const mi = int64(1 << 20)
	limit := 1024 * mi
	for _, tc := range []struct {
		name            string
		current, mapped int64
		want            int64
	}{
		{"first mapping of a step or more", limit, 100 * mi, 924 * mi},
		{"mapped moved less than a step", 924 * mi, 110 * mi, 924 * mi},
		{"mapped grew by a step", 924 * mi, 116 * mi, 908 * mi},
		{"mapped shrank by a step", 908 * mi, 100 * mi, 924 * mi},
		{"mapping gone", 924 * mi, 0, limit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextRuntimeLimit(limit, tc.current, tc.mapped); got != tc.want {
				t.Fatalf("nextRuntimeLimit(%d MiB, %d MiB, %d MiB) = %d MiB, want %d MiB",
					limit/mi, tc.current/mi, tc.mapped/mi, got/mi, tc.want/mi)
			}
		})
	}
}

func TestParseMapped(t *testing.T) {
	status := "Name:\tmeseta\nVmRSS:\t  253904 kB\nRssAnon:\t  148972 kB\nRssFile:\t  104932 kB\nRssShmem:\t       12 kB\n"
	got, err := parseMapped([]byte(status))
	if err != nil || got != (104932+12)<<10 {
		t.Fatalf("parseMapped = %d, %v; want %d", got, err, (104932+12)<<10)
	}
	if _, err := parseMapped([]byte("Name:\tmeseta\nVmRSS:\t1 kB\n")); err == nil {
		t.Fatal("parseMapped of a status without RssFile and RssShmem: no error")
	}
	if _, err := parseMapped([]byte("RssFile:\tmany kB\n")); err == nil {
		t.Fatal("parseMapped of a malformed RssFile: no error")
	}
}

func TestMappedResident(t *testing.T) {
	// The test binary's own code is a mapped file.
	if got, err := MappedResident(); err != nil || got <= 0 {
		t.Fatalf("MappedResident() = %d, %v; want the executable's resident pages", got, err)
	}
}

func TestTuneGCLeavesMappedPagesTheirPart(t *testing.T) {
	const mi = int64(1 << 20)
	limit := 1 << 50 // far above anything live: the growth target is the most
	var limits []int64
	var percents []int
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		TuneGC(ctx, int64(limit), Knobs{
			SetGCPercent:   func(p int) int { percents = append(percents, p); return 0 },
			SetMemoryLimit: func(l int64) int64 { limits = append(limits, l); return 0 },
			Mapped:         func() (int64, error) { return 300 * mi, nil },
		})
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	<-done
	if len(limits) != 1 || limits[0] != int64(limit)-300*mi {
		t.Fatalf("TuneGC set the runtime's limit to %v, want [%d]", limits, int64(limit)-300*mi)
	}
	if len(percents) != 1 || percents[0] != MaxGCPercent {
		t.Fatalf("TuneGC set the growth target to %v, want [%d]", percents, MaxGCPercent)
	}
}

func TestTuneGCKeepsAGivenGrowthTarget(t *testing.T) {
	const mi = int64(1 << 20)
	limit := int64(1 << 50)
	var limits []int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		TuneGC(ctx, limit, Knobs{
			SetGCPercent:   func(p int) int { t.Errorf("TuneGC set the growth target to %d, GOGC's to keep", p); return 0 },
			SetMemoryLimit: func(l int64) int64 { limits = append(limits, l); return 0 },
			Mapped:         func() (int64, error) { return 300 * mi, nil },
			KeepGCPercent:  true,
		})
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	<-done
	if len(limits) != 1 || limits[0] != limit-300*mi {
		t.Fatalf("TuneGC set the runtime's limit to %v, want [%d]", limits, limit-300*mi)
	}
	// Nothing to tune: it returns at once.
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		TuneGC(context.Background(), limit, Knobs{KeepGCPercent: true})
	}()
	select {
	case <-finished:
	case <-time.After(5 * time.Second):
		t.Fatal("TuneGC with nothing to tune did not return")
	}
}
