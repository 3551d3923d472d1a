package agent

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestValidateJoin(t *testing.T) {
	const token = "k3x9qa.p0z1y2x3w4v5u6t7"
	tests := []struct {
		name       string
		kubeconfig string
		join       JoinOptions
		wantErr    string
	}{
		{name: "a kubeconfig"},
		{name: "a bootstrap kubeconfig", join: JoinOptions{BootstrapKubeconfig: "boot.kubeconfig"}},
		{name: "a token with server and CA", join: JoinOptions{Token: token, Server: "https://m:6443", CertificateAuthority: "ca.crt"}},
		{name: "a token overriding a bootstrap kubeconfig's", join: JoinOptions{Token: token, BootstrapKubeconfig: "boot.kubeconfig"}},
		{name: "both kubeconfig and token", kubeconfig: "k", join: JoinOptions{Token: token, BootstrapKubeconfig: "b"}, wantErr: "not both"},
		{name: "a malformed token", join: JoinOptions{Token: "secret", BootstrapKubeconfig: "b"}, wantErr: "--token"},
		{name: "a token without a server", join: JoinOptions{Token: token}, wantErr: "--server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			c := CompletedOptions{Options: &Options{Kubeconfig: tt.kubeconfig, Join: tt.join}}
			errs := c.validateJoin().ToAggregate()
			if tt.wantErr == "" {
				g.Expect(errs).To(BeNil())
				return
			}
			g.Expect(errs).To(MatchError(ContainSubstring(tt.wantErr)))
			g.Expect(errs.Error()).NotTo(ContainSubstring(token), "the token is never echoed")
		})
	}
}
