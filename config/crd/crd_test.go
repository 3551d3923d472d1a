package crd_test

import (
	"testing"

	. "github.com/onsi/gomega"

	"meseta.dev/meseta/config/crd"
)

func TestDefinitions(t *testing.T) {
	g := NewWithT(t)
	crds, err := crd.Definitions()
	g.Expect(err).NotTo(HaveOccurred())
	var names []string
	for _, c := range crds {
		names = append(names, c.Name)
	}
	g.Expect(names).To(Equal([]string{
		"apps.meseta.dev", "frameworks.meseta.dev", "jobs.meseta.dev", "nodes.meseta.dev",
		"offers.meseta.dev", "roles.meseta.dev", "tasks.meseta.dev",
	}))

	// Every call decodes afresh, so callers may modify what they get.
	crds[0].Name = "changed"
	again, err := crd.Definitions()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(again[0].Name).To(Equal("apps.meseta.dev"))
}

func TestDefinition(t *testing.T) {
	tests := []struct {
		plural  string
		want    string
		wantErr bool
	}{
		{plural: "tasks", want: "tasks.meseta.dev"},
		{plural: "nodes", want: "nodes.meseta.dev"},
		{plural: "pods", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.plural, func(t *testing.T) {
			g := NewWithT(t)
			c, err := crd.Definition(tt.plural)
			if tt.wantErr {
				g.Expect(err).To(MatchError(ContainSubstring(tt.plural)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(c.Name).To(Equal(tt.want))
		})
	}
}
