package memlimit

import (
	"context"
	"math"
	"runtime"
	"testing"
	"time"
)

func TestGCPercent(t *testing.T) {
	const limit = 4 << 30
	tests := []struct {
		name        string
		live, limit int64
		want        int
	}{
		{name: "no limit keeps the runtime's", live: 1 << 30, want: DefaultGCPercent},
		{name: "GOMEMLIMIT=off is no limit", live: 1 << 30, limit: math.MaxInt64, want: DefaultGCPercent},
		{name: "nothing live yet", limit: limit, want: MaxGCPercent},
		{name: "a small heap grows to four times what is live", live: 200 << 20, limit: limit, want: MaxGCPercent},
		{name: "the goal stays within half the limit: 2 GiB is 3.2 times 640 MiB", live: 640 << 20, limit: limit, want: 220},
		{name: "half the limit live: the runtime's default", live: 2 << 30, limit: limit, want: DefaultGCPercent},
		{name: "past the limit: the default, and the limit caps the heap", live: 5 << 30, limit: limit, want: DefaultGCPercent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := GCPercent(tt.live, tt.limit); got != tt.want {
				t.Fatalf("GCPercent(%d, %d) = %d, want %d", tt.live, tt.limit, got, tt.want)
			}
		})
	}
}

func TestTuneGC(t *testing.T) {
	runtime.GC() // so that the runtime has measured a live heap
	run := func(limit int64) []int {
		ctx, cancel := context.WithCancel(context.Background())
		var set []int
		done := make(chan struct{})
		go func() {
			defer close(done)
			TuneGC(ctx, limit, Knobs{SetGCPercent: func(p int) int { set = append(set, p); return 0 }})
		}()
		time.Sleep(100 * time.Millisecond)
		cancel()
		<-done
		return set
	}
	if got := run(1 << 50); len(got) != 1 || got[0] != MaxGCPercent {
		t.Fatalf("under a limit far above the live heap TuneGC set %v, want [%d]", got, MaxGCPercent)
	}
	if got := run(1 << 10); len(got) != 1 || got[0] != DefaultGCPercent {
		t.Fatalf("under a limit below the live heap TuneGC set %v, want [%d]", got, DefaultGCPercent)
	}
	if got := run(math.MaxInt64); len(got) != 0 {
		t.Fatalf("under the runtime's no-limit TuneGC set %v, want nothing", got)
	}
	if got := run(0); len(got) != 0 {
		t.Fatalf("without a limit TuneGC set %v, want nothing", got)
	}
}
