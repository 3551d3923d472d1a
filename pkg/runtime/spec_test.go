package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"k8s.io/apimachinery/pkg/api/resource"

	"meseta.dev/meseta/apis/v1alpha1"
)

func baseConfig() Config {
	return Config{ID: "task-1", Rootfs: "/var/lib/meseta/c/rootfs", SandboxDir: "/var/lib/meseta/s", Args: []string{"sh"}}
}

func TestBuildSpec(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Config)
		check func(g Gomega, s *specs.Spec)
	}{
		{name: "defaults", check: func(g Gomega, s *specs.Spec) {
			g.Expect(s.Process.Env).To(ContainElement(DefaultPath))
			g.Expect(s.Process.Cwd).To(Equal(SandboxPath))
			g.Expect(s.Process.NoNewPrivileges).To(BeTrue())
			g.Expect(s.Process.Capabilities.Ambient).To(BeEmpty())
			g.Expect(s.Process.Capabilities.Inheritable).To(BeEmpty())
			g.Expect(s.Process.Capabilities.Bounding).To(ContainElement("CAP_NET_BIND_SERVICE"))
			g.Expect(s.Process.Capabilities.Bounding).NotTo(ContainElement("CAP_SYS_ADMIN"))
			g.Expect(s.Hostname).To(Equal("task-1"))
			g.Expect(s.Linux.CgroupsPath).To(Equal("/meseta/task-1"))
			g.Expect(*s.Linux.Resources.Pids.Limit).To(Equal(int64(DefaultPidsLimit)))
			g.Expect(s.Linux.Resources.CPU).To(BeNil())
			g.Expect(s.Linux.Resources.Memory).To(BeNil())
			g.Expect(s.Linux.Namespaces).To(ConsistOf(
				specs.LinuxNamespace{Type: specs.PIDNamespace}, specs.LinuxNamespace{Type: specs.MountNamespace},
				specs.LinuxNamespace{Type: specs.IPCNamespace}, specs.LinuxNamespace{Type: specs.UTSNamespace}))
			g.Expect(s.Linux.MaskedPaths).To(ContainElement("/proc/kcore"))
			g.Expect(s.Linux.ReadonlyPaths).To(ContainElement("/proc/sys"))
			g.Expect(s.Mounts).To(ContainElement(specs.Mount{Destination: SandboxPath, Type: "bind", Source: "/var/lib/meseta/s", Options: []string{"rbind", "rw", "nosuid", "nodev"}}))
			g.Expect(s.Mounts).To(ContainElement(HaveField("Destination", "/proc")))
			g.Expect(s.Mounts).To(ContainElement(HaveField("Type", "sysfs")))
			g.Expect(s.Root).To(Equal(&specs.Root{Path: "/var/lib/meseta/c/rootfs"}))
		}},
		{name: "limits from resources", edit: func(c *Config) {
			c.Limits = LimitsFromResources(v1alpha1.Resources{Cpus: ptrQ("1.5"), Mem: ptrQ("256Mi")})
		}, check: func(g Gomega, s *specs.Spec) {
			cpu := s.Linux.Resources.CPU
			g.Expect(*cpu.Shares).To(Equal(uint64(1536)))
			g.Expect(*cpu.Quota).To(Equal(int64(150000)))
			g.Expect(*cpu.Period).To(Equal(uint64(100000)))
			g.Expect(*s.Linux.Resources.Memory.Limit).To(Equal(int64(256 << 20)))
			g.Expect(*s.Linux.Resources.Memory.Swap).To(Equal(int64(256 << 20)))
		}},
		{name: "tiny cpu gets the minimum shares and quota, after a start quota", edit: func(c *Config) {
			c.Limits.MilliCPUs = 1
			c.Annotations = map[string]string{"meseta.dev/task": "ns/t"}
		}, check: func(g Gomega, s *specs.Spec) {
			g.Expect(*s.Linux.Resources.CPU.Shares).To(Equal(uint64(2)))
			g.Expect(*s.Linux.Resources.CPU.Quota).To(Equal(int64(StartCFSQuota)))
			g.Expect(s.Annotations).To(Equal(map[string]string{"meseta.dev/task": "ns/t", AnnotationCFSQuota: "1000"}))
		}},
		{name: "a quota below the start quota is set after the start", edit: func(c *Config) {
			c.Limits = LimitsFromResources(v1alpha1.Resources{Cpus: ptrQ("0.1")})
		}, check: func(g Gomega, s *specs.Spec) {
			g.Expect(*s.Linux.Resources.CPU.Quota).To(Equal(int64(StartCFSQuota)))
			g.Expect(s.Annotations).To(HaveKeyWithValue(AnnotationCFSQuota, "10000"))
		}},
		{name: "a quota from the start quota up is the spec's", edit: func(c *Config) {
			c.Limits = LimitsFromResources(v1alpha1.Resources{Cpus: ptrQ("0.25")})
		}, check: func(g Gomega, s *specs.Spec) {
			g.Expect(*s.Linux.Resources.CPU.Quota).To(Equal(int64(25000)))
			g.Expect(s.Annotations).NotTo(HaveKey(AnnotationCFSQuota))
		}},
		{name: "own network", edit: func(c *Config) { c.Network = NetworkNone }, check: func(g Gomega, s *specs.Spec) {
			g.Expect(s.Linux.Namespaces).To(ContainElement(specs.LinuxNamespace{Type: specs.NetworkNamespace}))
		}},
		{name: "read-only host root", edit: func(c *Config) { c.RootfsReadOnly = true }, check: func(g Gomega, s *specs.Spec) {
			g.Expect(s.Root.Readonly).To(BeTrue())
			g.Expect(s.Mounts).To(ContainElement(SatisfyAll(HaveField("Destination", "/tmp"), HaveField("Type", "tmpfs"))))
			g.Expect(s.Mounts).NotTo(ContainElement(HaveField("Type", "sysfs")))
		}},
		{name: "user, env, cwd, annotations", edit: func(c *Config) {
			c.User = User{UID: 1000, GID: 100, AdditionalGids: []uint32{10}}
			c.Env = []string{"PATH=/opt/bin", "A=1"}
			c.Cwd = "/work"
			c.Annotations = map[string]string{"meseta.dev/task": "ns/t"}
		}, check: func(g Gomega, s *specs.Spec) {
			g.Expect(s.Process.User).To(Equal(specs.User{UID: 1000, GID: 100, AdditionalGids: []uint32{10}}))
			g.Expect(s.Process.Env).To(Equal([]string{"PATH=/opt/bin", "A=1"}))
			g.Expect(s.Process.Cwd).To(Equal("/work"))
			g.Expect(s.Annotations).To(HaveKeyWithValue("meseta.dev/task", "ns/t"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := baseConfig()
			if tt.edit != nil {
				tt.edit(&c)
			}
			s, err := BuildSpec(c)
			g.Expect(err).NotTo(HaveOccurred())
			tt.check(g, s)
		})
	}
}

func TestBuildSpecInvalid(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{name: "bad id", edit: func(c *Config) { c.ID = "../x" }, wantErr: `id "../x"`},
		{name: "relative rootfs", edit: func(c *Config) { c.Rootfs = "rootfs" }, wantErr: "rootfs \"rootfs\" must be an absolute path"},
		{name: "no sandbox", edit: func(c *Config) { c.SandboxDir = "" }, wantErr: "sandbox dir"},
		{name: "no command", edit: func(c *Config) { c.Args = nil }, wantErr: "args must name a command"},
		{name: "bad network", edit: func(c *Config) { c.Network = "bridge" }, wantErr: `network "bridge"`},
		{name: "negative limits", edit: func(c *Config) { c.Limits.MemoryBytes = -1 }, wantErr: "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := baseConfig()
			tt.edit(&c)
			_, err := BuildSpec(c)
			g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
		})
	}
}

func TestWriteBundle(t *testing.T) {
	g := NewWithT(t)
	s, err := BuildSpec(baseConfig())
	g.Expect(err).NotTo(HaveOccurred())
	dir := filepath.Join(t.TempDir(), "bundle")
	g.Expect(WriteBundle(dir, s)).To(Succeed())
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	g.Expect(err).NotTo(HaveOccurred())
	var back specs.Spec
	g.Expect(json.Unmarshal(data, &back)).To(Succeed())
	g.Expect(back.Process.Args).To(Equal([]string{"sh"}))
}

func ptrQ(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

func TestResolveUser(t *testing.T) {
	root := t.TempDir()
	g := NewWithT(t)
	g.Expect(os.MkdirAll(filepath.Join(root, "etc"), 0o755)).To(Succeed())
	g.Expect(os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"), 0o644)).To(Succeed())
	g.Expect(os.WriteFile(filepath.Join(root, "etc/group"), []byte("root:x:0:\napp:x:1000:\nwheel:x:10:app\nstaff:x:50:other,app\n"), 0o644)).To(Succeed())
	tests := []struct {
		spec    string
		want    User
		wantErr string
	}{
		{spec: "", want: User{}},
		{spec: "0", want: User{}},
		{spec: "app", want: User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 50}}},
		{spec: "1000", want: User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 50}}},
		{spec: "4242", want: User{UID: 4242}},
		{spec: "4242:77", want: User{UID: 4242, GID: 77}},
		{spec: "app:wheel", want: User{UID: 1000, GID: 10, AdditionalGids: []uint32{50}}},
		{spec: "nobody", wantErr: `user "nobody" is not in the image's /etc/passwd`},
		{spec: "app:nogroup", wantErr: `group "nogroup" is not in the image's /etc/group`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			g := NewWithT(t)
			u, err := ResolveUser(root, tt.spec)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(u).To(Equal(tt.want))
		})
	}
}
