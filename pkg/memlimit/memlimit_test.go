package memlimit

import (
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	limited := func() (int64, bool) { return 4 << 30, true }
	none := func() (int64, bool) { return 0, false }
	tests := []struct {
		name, flag, env     string
		cgroup              func() (int64, bool)
		want                int64
		wantSource, wantErr string
	}{
		{name: "the flag wins", flag: "3584Mi", env: "1GiB", cgroup: limited, want: 3584 << 20, wantSource: "--memory-limit"},
		{name: "a decimal quantity", flag: "4G", cgroup: none, want: 4e9, wantSource: "--memory-limit"},
		{name: "GOMEMLIMIT is left to the runtime", env: "1GiB", cgroup: limited, wantSource: "GOMEMLIMIT"},
		{name: "the cgroup's", cgroup: limited, want: 3865470566, wantSource: "cgroup memory limit"},
		{name: "none", cgroup: none},
		{name: "not a quantity", flag: "lots", cgroup: none, wantErr: "must be a quantity of bytes such as 3584Mi or 4G"},
		{name: "too small", flag: "100Mi", cgroup: none, wantErr: "must be at least 256Mi, the least a master needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, source, err := Choose(tt.flag, tt.env, tt.cgroup)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Choose error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want || source != tt.wantSource {
				t.Fatalf("Choose = %d, %q, %v; want %d, %q", got, source, err, tt.want, tt.wantSource)
			}
		})
	}
}
