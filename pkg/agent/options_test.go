package agent

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/pkg/agent/hostresources"
)

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	runtimeBin := filepath.Join(dir, "runc")
	notExec := filepath.Join(dir, "plain")
	for _, f := range []struct {
		path string
		mode os.FileMode
	}{{kubeconfig, 0o600}, {runtimeBin, 0o755}, {notExec, 0o644}} {
		if err := os.WriteFile(f.path, nil, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	valid := func() *Options {
		o := NewOptions()
		o.Kubeconfig, o.NodeName, o.WorkDir, o.Runtime = kubeconfig, "node-a", dir, runtimeBin
		return o
	}
	tests := []struct {
		name    string
		edit    func(*Options)
		wantErr []string
	}{
		{name: "valid", edit: func(*Options) {}},
		{name: "mesos resources", edit: func(o *Options) { o.Resources = "cpus:2;mem:4096;ports:[31000-32000]" }},
		{name: "bad resources", edit: func(o *Options) { o.Resources = "cpus:two" }, wantErr: []string{"--resources", "cpus:two"}},
		{name: "bad attributes", edit: func(o *Options) { o.Attributes = "rack" }, wantErr: []string{"--attributes", "KEY:VALUE"}},
		{name: "missing kubeconfig", edit: func(o *Options) { o.Kubeconfig = "" }, wantErr: []string{"--kubeconfig", "Required"}},
		{name: "kubeconfig not found", edit: func(o *Options) { o.Kubeconfig = "/nonexistent" }, wantErr: []string{"--kubeconfig"}},
		{name: "bad node name", edit: func(o *Options) { o.NodeName = "Node_A" }, wantErr: []string{"--node-name"}},
		{name: "runtime not found", edit: func(o *Options) { o.Runtime = "/nonexistent/runc" }, wantErr: []string{"--runtime"}},
		{name: "runtime not executable", edit: func(o *Options) { o.Runtime = notExec }, wantErr: []string{"--runtime", "executable"}},
		{name: "bad registry", edit: func(o *Options) { o.InsecureRegistries = []string{"reg:99999"} }, wantErr: []string{"--insecure-registry"}},
		{name: "good registry", edit: func(o *Options) { o.InsecureRegistries = []string{"127.0.0.1:5000", "registry.local"} }},
		{name: "bad port", edit: func(o *Options) { o.Port = 70000 }, wantErr: []string{"--port"}},
		{name: "lease shorter than two beats", edit: func(o *Options) { o.LeaseDuration = 6 * time.Second }, wantErr: []string{"--lease-duration", "twice"}},
		{name: "negative parallel starts", edit: func(o *Options) { o.ParallelStarts = -1 }, wantErr: []string{"--parallel-starts", "0 (no limit)"}},
		{name: "no limit on parallel starts", edit: func(o *Options) { o.ParallelStarts = 0 }},
		{name: "zero heartbeat", edit: func(o *Options) { o.HeartbeatInterval = 0 }, wantErr: []string{"--heartbeat-interval"}},
		{name: "every error at once", edit: func(o *Options) { o.Resources, o.Attributes = "x", "y" }, wantErr: []string{"--resources", "--attributes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			o := valid()
			tt.edit(o)
			c, err := o.Complete()
			g.Expect(err).NotTo(HaveOccurred())
			err = c.Validate()
			if len(tt.wantErr) == 0 {
				g.Expect(err).NotTo(HaveOccurred())
				return
			}
			g.Expect(err).To(HaveOccurred())
			for _, s := range tt.wantErr {
				g.Expect(err.Error()).To(ContainSubstring(s))
			}
		})
	}
}

func TestCompleteDefaults(t *testing.T) {
	g := NewWithT(t)
	o := NewOptions()
	o.WorkDir = "relative/dir"
	c, err := o.Complete()
	g.Expect(err).NotTo(HaveOccurred())
	host, _ := os.Hostname()
	g.Expect(c.NodeName).NotTo(BeEmpty())
	if host != "" {
		g.Expect(c.NodeName).To(Equal(toLower(host)))
	}
	g.Expect(filepath.IsAbs(c.WorkDir)).To(BeTrue())
	g.Expect(c.Runtime).NotTo(BeEmpty())
	g.Expect(o.WorkDir).To(Equal("relative/dir"), "Complete does not change the options")
}

func TestResourcesFor(t *testing.T) {
	g := NewWithT(t)
	detected, err := hostresources.ParseResources("cpus:8;mem:16Gi;disk:100Gi;ports:[31000-32000]")
	g.Expect(err).NotTo(HaveOccurred())
	given, err := hostresources.ParseResources("mem:4096")
	g.Expect(err).NotTo(HaveOccurred())
	capacity, allocatable := resourcesFor(detected, given)
	g.Expect(hostresources.FormatResources(capacity)).To(Equal("cpus:8;mem:4Gi;disk:100Gi;ports:[31000-32000]"))
	// Detected cpus and disk keep a reserve; the given mem is allocatable whole.
	g.Expect(hostresources.FormatResources(allocatable)).To(Equal("cpus:7900m;mem:4Gi;disk:95Gi;ports:[31000-32000]"))
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
