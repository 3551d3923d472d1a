package sdk

import (
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"meseta.dev/meseta/apis/v1alpha1"
)

func TestApplySpec(t *testing.T) {
	existing := func(role string, mutate func(*v1alpha1.Framework)) *v1alpha1.Framework {
		f := &v1alpha1.Framework{ObjectMeta: metav1.ObjectMeta{Name: "fw", Namespace: "team-a", ResourceVersion: "7"}}
		f.Spec.Role = role
		f.Spec.Revive = 3
		if mutate != nil {
			mutate(f)
		}
		return f
	}
	tests := []struct {
		name        string
		obj         *v1alpha1.Framework
		fw          Framework
		suppressed  bool
		wantChanged bool
		wantErr     string
		check       func(g Gomega, f *v1alpha1.Framework)
	}{
		{
			name: "new framework takes every field", obj: &v1alpha1.Framework{},
			fw:          Framework{Role: "batch", FailoverTimeout: time.Minute, Capabilities: []v1alpha1.FrameworkCapability{"TaskKillingState", "GPUResources", "GPUResources"}},
			wantChanged: true,
			check: func(g Gomega, f *v1alpha1.Framework) {
				g.Expect(f.Spec.Role).To(Equal("batch"))
				g.Expect(f.Spec.FailoverTimeout.Duration).To(Equal(time.Minute))
				g.Expect(f.Spec.Capabilities).To(Equal([]v1alpha1.FrameworkCapability{"GPUResources", "TaskKillingState"}))
			},
		},
		{name: "adopt unchanged", obj: existing("", nil), fw: Framework{}, wantChanged: false},
		{name: "adopt: empty role takes the existing one", obj: existing("other", nil), fw: Framework{}, wantChanged: false},
		{name: "adopt: namespace role equals empty role", obj: existing("", nil), fw: Framework{Role: "team-a"}, wantChanged: false},
		{name: "adopt: other role refused", obj: existing("x", nil), fw: Framework{Role: "y"}, wantErr: "spec.role: framework team-a/fw has role \"x\""},
		{
			name: "adopt: suppress and capabilities", obj: existing("", nil), suppressed: true,
			fw: Framework{Capabilities: []v1alpha1.FrameworkCapability{"TaskKillingState"}}, wantChanged: true,
			check: func(g Gomega, f *v1alpha1.Framework) {
				g.Expect(f.Spec.Suppressed).To(BeTrue())
				g.Expect(f.Spec.Revive).To(Equal(int64(3)), "revive untouched")
			},
		},
		{
			name: "zero failover timeout leaves the existing one", wantChanged: false, fw: Framework{},
			obj: existing("", func(f *v1alpha1.Framework) { f.Spec.FailoverTimeout = &metav1.Duration{Duration: time.Hour} }),
		},
		{
			name: "negative failover timeout asks for 0s", wantChanged: true, fw: Framework{FailoverTimeout: -1},
			obj:   existing("", func(f *v1alpha1.Framework) { f.Spec.FailoverTimeout = &metav1.Duration{Duration: time.Hour} }),
			check: func(g Gomega, f *v1alpha1.Framework) { g.Expect(f.Spec.FailoverTimeout.Duration).To(BeZero()) },
		},
		{
			name: "capabilities dropped", wantChanged: true, fw: Framework{},
			obj:   existing("", func(f *v1alpha1.Framework) { f.Spec.Capabilities = []v1alpha1.FrameworkCapability{"GPUResources"} }),
			check: func(g Gomega, f *v1alpha1.Framework) { g.Expect(f.Spec.Capabilities).To(BeNil()) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			changed, err := applySpec(tt.obj, tt.fw, tt.suppressed)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(changed).To(Equal(tt.wantChanged))
			if tt.check != nil {
				tt.check(g, tt.obj)
			}
		})
	}
}

func TestFrameworkComplete(t *testing.T) {
	tests := []struct {
		name    string
		fw      Framework
		wantErr string
	}{
		{name: "minimal", fw: Framework{Name: "fw", Namespace: "ns"}},
		{name: "no name", fw: Framework{Namespace: "ns"}, wantErr: "name: \"\""},
		{name: "bad namespace", fw: Framework{Name: "fw", Namespace: "Team_A"}, wantErr: "namespace: \"Team_A\""},
		{name: "bad role", fw: Framework{Name: "fw", Namespace: "ns", Role: "A B"}, wantErr: "role: \"A B\""},
		{name: "renew too slow", fw: Framework{Name: "fw", Namespace: "ns", LeaseDuration: 5 * time.Second, RenewInterval: 5 * time.Second}, wantErr: "renewInterval: 5s must be more than 0 and less than leaseDuration (5s)"},
		{name: "short lease", fw: Framework{Name: "fw", Namespace: "ns", LeaseDuration: time.Millisecond}, wantErr: "leaseDuration: 1ms must be at least 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := tt.fw.complete()
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got.Identity).NotTo(BeEmpty())
			g.Expect(got.LeaseDuration).To(Equal(DefaultLeaseDuration))
			g.Expect(got.RenewInterval).To(Equal(DefaultRenewInterval))
			g.Expect(got.OfferBatchDelay).To(Equal(DefaultOfferBatchDelay))
		})
	}
}
