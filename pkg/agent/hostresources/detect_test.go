package hostresources

import (
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"
)

// fakeHost writes files under a temporary directory and returns it.
func fakeHost(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const meminfo = "MemTotal:       16384000 kB\nMemFree:         1000 kB\n"

func TestDetect(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		ncpu  int
		want  string
	}{
		{
			name:  "cgroup v1 without limits",
			files: map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "5:cpu,cpuacct:/agent\n4:memory:/agent\n", "sys/cpu,cpuacct/agent/cpu.cfs_quota_us": "-1\n", "sys/cpu,cpuacct/agent/cpu.cfs_period_us": "100000\n", "sys/memory/agent/memory.limit_in_bytes": "9223372036854771712\n"},
			ncpu:  4,
			want:  "cpus:4;mem:16000Mi;disk:1Gi;ports:[31000-32000]",
		},
		{
			name:  "cgroup v1 quota and limit",
			files: map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "5:cpu:/agent\n4:memory:/agent\n", "sys/cpu/agent/cpu.cfs_quota_us": "150000\n", "sys/cpu/agent/cpu.cfs_period_us": "100000\n", "sys/memory/agent/memory.limit_in_bytes": "2147483648\n"},
			ncpu:  4,
			want:  "cpus:1500m;mem:2Gi;disk:1Gi;ports:[31000-32000]",
		},
		{
			name:  "cgroup v2 inside a container (path missing, root files used)",
			files: map[string]string{"proc/meminfo": meminfo, "proc/self/cgroup": "0::/elsewhere\n", "sys/cgroup.controllers": "cpu memory\n", "sys/cpu.max": "50000 100000\n", "sys/memory.max": "max\n"},
			ncpu:  2,
			want:  "cpus:500m;mem:16000Mi;disk:1Gi;ports:[31000-32000]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			root := fakeHost(t, tt.files)
			d := Detector{
				ProcDir: filepath.Join(root, "proc"), CgroupDir: filepath.Join(root, "sys"),
				NumCPU: func() int { return tt.ncpu },
				Statfs: func(path string, st *unix.Statfs_t) error {
					if path != "/var/lib" {
						return unix.ENOENT // the work dir does not exist yet
					}
					st.Blocks, st.Bsize = 1<<18, 4096
					return nil
				},
			}
			got, err := d.Detect("/var/lib/meseta/work")
			g.Expect(err).NotTo(HaveOccurred())
			want, err := ParseResources(tt.want)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(equalResources(got, want)).To(BeTrue(), "got %s", FormatResources(got))
		})
	}
}

func TestDetectRealHost(t *testing.T) {
	g := NewWithT(t)
	got, err := Detector{}.Detect(t.TempDir())
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(got.Cpus.MilliValue()).To(BeNumerically(">", 0))
	g.Expect(got.Mem.Value()).To(BeNumerically(">", 64<<20))
	g.Expect(got.Disk.Value()).To(BeNumerically(">", 0))
	g.Expect(got.Ports).To(Equal(DefaultPorts))
}

func TestDetectErrors(t *testing.T) {
	g := NewWithT(t)
	root := fakeHost(t, map[string]string{"proc/meminfo": "nothing useful\n"})
	_, err := Detector{ProcDir: filepath.Join(root, "proc"), CgroupDir: root}.Detect(t.TempDir())
	g.Expect(err).To(MatchError(ContainSubstring("no MemTotal line")))
}

func TestCgroupMemoryLimit(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		want   int64
		wantOK bool
	}{
		{name: "v1 without a limit", files: map[string]string{"proc/self/cgroup": "4:memory:/m\n", "sys/memory/m/memory.limit_in_bytes": "9223372036854771712\n"}},
		{name: "v1 limit", files: map[string]string{"proc/self/cgroup": "4:memory:/m\n", "sys/memory/m/memory.limit_in_bytes": "4294967296\n"}, want: 4 << 30, wantOK: true},
		{name: "v2 max", files: map[string]string{"proc/self/cgroup": "0::/m\n", "sys/cgroup.controllers": "memory\n", "sys/m/memory.max": "max\n"}},
		{name: "v2 limit", files: map[string]string{"proc/self/cgroup": "0::/m\n", "sys/cgroup.controllers": "memory\n", "sys/m/memory.max": "3221225472\n"}, want: 3 << 30, wantOK: true},
		{name: "no cgroup file", files: map[string]string{"proc/self/cgroup": "0::/m\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := fakeHost(t, tt.files)
			got, ok := Detector{ProcDir: filepath.Join(root, "proc"), CgroupDir: filepath.Join(root, "sys")}.CgroupMemoryLimit()
			if got != tt.want && tt.wantOK || ok != tt.wantOK {
				t.Fatalf("CgroupMemoryLimit = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
