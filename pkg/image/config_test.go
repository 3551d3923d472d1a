package image

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestConfigArgs(t *testing.T) {
	cfg := Config{Entrypoint: []string{"/entry"}, Cmd: []string{"--default"}}
	tests := []struct {
		name          string
		cfg           Config
		command, args []string
		want          []string
	}{
		{name: "image defaults", cfg: cfg, want: []string{"/entry", "--default"}},
		{name: "command replaces entrypoint and cmd", cfg: cfg, command: []string{"sh", "-c", "x"}, want: []string{"sh", "-c", "x"}},
		{name: "args replace cmd", cfg: cfg, args: []string{"--other"}, want: []string{"/entry", "--other"}},
		{name: "both", cfg: cfg, command: []string{"a"}, args: []string{"b"}, want: []string{"a", "b"}},
		{name: "cmd only", cfg: Config{Cmd: []string{"sh"}}, want: []string{"sh"}},
		{name: "nothing", cfg: Config{}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(tt.cfg.Args(tt.command, tt.args)).To(Equal(tt.want))
		})
	}
}

func TestConfigMergeEnv(t *testing.T) {
	g := NewWithT(t)
	cfg := Config{Env: []string{"PATH=/bin", "MODE=slow"}}
	g.Expect(cfg.MergeEnv([]string{"MODE=fast", "NEW=1"})).To(Equal([]string{"PATH=/bin", "MODE=fast", "NEW=1"}))
	g.Expect(cfg.Env).To(Equal([]string{"PATH=/bin", "MODE=slow"}), "config unchanged")
}

func TestParseReference(t *testing.T) {
	tests := []struct {
		name     string
		image    string
		insecure []string
		wantKind Kind
		wantStr  string
		wantErr  string
	}{
		{name: "empty is the host root", image: "", wantKind: KindHostRoot},
		{name: "layout", image: "oci:/var/lib/images/busybox", wantKind: KindLayout, wantStr: "oci:/var/lib/images/busybox"},
		{name: "layout without path", image: "oci:", wantErr: "OCI layout path is empty"},
		{name: "registry tag", image: "registry.example:5000/busybox:1.36", wantKind: KindRegistry, wantStr: "registry.example:5000/busybox:1.36"},
		{name: "registry digest", image: "r.example/b@sha256:" + sixtyFour, wantKind: KindRegistry, wantStr: "r.example/b@sha256:" + sixtyFour},
		{name: "bad reference", image: "UPPER/Case:tag!", wantErr: "use oci:PATH, REGISTRY/NAME:TAG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			ref, err := ParseReference(tt.image, tt.insecure)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(ref.Kind).To(Equal(tt.wantKind))
			g.Expect(ref.String()).To(Equal(tt.wantStr))
		})
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
