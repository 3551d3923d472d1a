package hostresources

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
)

func TestParseAttributes(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		want    map[string]string
		wantErr string
	}{
		{name: "empty", spec: "", want: map[string]string{}},
		{name: "two", spec: "rack:r1;zone:a", want: map[string]string{"rack": "r1", "zone": "a"}},
		{name: "label-ish characters", spec: "topology.meseta.dev/zone:eu-west_1.a", want: map[string]string{"topology.meseta.dev/zone": "eu-west_1.a"}},
		{name: "spaces trimmed", spec: " rack : r1 ;", want: map[string]string{"rack": "r1"}},
		{name: "missing value separator", spec: "rack", wantErr: `invalid attribute "rack": expected KEY:VALUE`},
		{name: "empty value", spec: "rack:", wantErr: `bad value ""`},
		{name: "bad key", spec: "-rack:r1", wantErr: `bad key "-rack"`},
		{name: "bad value", spec: "rack:r 1", wantErr: `bad value "r 1"`},
		{name: "key too long", spec: strings.Repeat("k", 64) + ":v", wantErr: "bad key"},
		{name: "duplicate", spec: "rack:a;rack:b", wantErr: `key "rack" is given more than once`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ParseAttributes(tt.spec)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(err.Error()).To(ContainSubstring("attributes are KEY:VALUE items"))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
			back, err := ParseAttributes(FormatAttributes(got))
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(back).To(Equal(got))
		})
	}
}
