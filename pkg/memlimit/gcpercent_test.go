package memlimit

import "testing"

func TestGCPercent(t *testing.T) {
	tests := []struct {
		name    string
		limited bool
		gogc    string
		want    int
	}{
		{name: "a limit bounds the heap", limited: true, want: BoundedGCPercent},
		{name: "GOGC is the operator's", limited: true, gogc: "50", want: 0},
		{name: "GOGC=off is the operator's too", limited: true, gogc: "off", want: 0},
		{name: "no limit keeps the runtime's", limited: false, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := GCPercent(tt.limited, tt.gogc); got != tt.want {
				t.Fatalf("GCPercent(%v, %q) = %d, want %d", tt.limited, tt.gogc, got, tt.want)
			}
		})
	}
}
