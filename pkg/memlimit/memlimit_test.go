package memlimit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fsTree writes files (path -> content) under a new root.
func fsTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCgroupLimit(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		want   int64
		wantOK bool
	}{
		{name: "no proc", files: map[string]string{}},
		{name: "v1 without a limit", files: map[string]string{
			"proc/self/cgroup": "4:memory:/svc\n1:cpu:/\n",
			"sys/fs/cgroup/memory/svc/memory.limit_in_bytes": "9223372036854771712\n",
		}},
		{name: "v1 limit", files: map[string]string{
			"proc/self/cgroup": "5:cpuacct,cpu:/\n4:memory:/svc/master\n",
			"sys/fs/cgroup/memory/svc/master/memory.limit_in_bytes": "4294967296\n",
		}, want: 4 << 30, wantOK: true},
		{name: "v1 parent's limit is smaller", files: map[string]string{
			"proc/self/cgroup": "4:memory:/svc/master\n",
			"sys/fs/cgroup/memory/svc/master/memory.limit_in_bytes": "4294967296\n",
			"sys/fs/cgroup/memory/svc/memory.limit_in_bytes":        "2147483648\n",
		}, want: 2 << 30, wantOK: true},
		{name: "v2 limit", files: map[string]string{
			"proc/self/cgroup": "0::/system.slice/meseta.service\n",
			"sys/fs/cgroup/system.slice/meseta.service/memory.max": "3221225472\n",
			"sys/fs/cgroup/system.slice/memory.max":                "max\n",
		}, want: 3 << 30, wantOK: true},
		{name: "v2 on a hybrid mount", files: map[string]string{
			"proc/self/cgroup":                     "4:memory:/\n0::/job\n",
			"sys/fs/cgroup/unified/job/memory.max": "1073741824\n",
		}, want: 1 << 30, wantOK: true},
		{name: "garbage", files: map[string]string{
			"proc/self/cgroup":             "0::/job\n",
			"sys/fs/cgroup/job/memory.max": "lots\n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := CgroupLimit(fsTree(t, tt.files))
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("CgroupLimit = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestChoose(t *testing.T) {
	limited := fsTree(t, map[string]string{
		"proc/self/cgroup":           "0::/m\n",
		"sys/fs/cgroup/m/memory.max": "4294967296\n",
	})
	none := fsTree(t, map[string]string{"proc/self/cgroup": "0::/\n"})
	tests := []struct {
		name, flag, env, root string
		want                  int64
		wantSource, wantErr   string
	}{
		{name: "the flag wins", flag: "3584Mi", env: "1GiB", root: limited, want: 3584 << 20, wantSource: "--memory-limit"},
		{name: "GOMEMLIMIT is left to the runtime", env: "1GiB", root: limited, wantSource: "GOMEMLIMIT"},
		{name: "the cgroup's", root: limited, want: 3865470566, wantSource: "cgroup memory limit"},
		{name: "none", root: none},
		{name: "not a quantity", flag: "lots", root: none, wantErr: "must be a quantity of bytes such as 3584Mi or 4G"},
		{name: "too small", flag: "100Mi", root: none, wantErr: "must be at least 256Mi, the least a master needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, source, err := Choose(tt.flag, tt.env, tt.root)
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
