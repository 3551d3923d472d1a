package offers

import (
	"testing"
	"time"
)

func TestDeleteQuota(t *testing.T) {
	const interval, ttl = 10 * time.Second, time.Minute
	tests := []struct {
		name      string
		due       int
		perSecond float64
		want      int
	}{
		{"nothing due", 0, 100, 0},
		{"few due: all of them", 40, 100, 40},
		{"the pace's worth of a larger number", 1500, 100, 1000},
		{"a backlog the pace would not clear within a ttl: cleared within one", 7000, 100, 1167},
		{"a faster pace", 7000, 1000, 7000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := deleteQuota(tt.due, interval, ttl, tt.perSecond); got != tt.want {
				t.Errorf("deleteQuota(%d, %s, %s, %g) = %d, want %d", tt.due, interval, ttl, tt.perSecond, got, tt.want)
			}
		})
	}
	if got := deleteQuota(10, 0, ttl, 100); got != 0 {
		t.Errorf("no interval: %d, want 0", got)
	}
	if got := deleteQuota(5000, interval, 0, 100); got != 1000 {
		t.Errorf("no ttl: %d, want the pace's 1000", got)
	}
}
