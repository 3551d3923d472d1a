package resources

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestParse(t *testing.T) {
	tests := []struct {
		spec    string
		want    Vector
		wantErr string
	}{
		{spec: "", want: Vector{}},
		{spec: "  ;; ", want: Vector{}},
		{spec: "cpus:2;mem:4096;disk:10000;ports:[31000-32000]", want: Vector{MilliCPUs: 2000, Mem: 4096 * mi, Disk: 10000 * mi, Ports: ps(31000, 32000)}},
		{spec: "cpus:500m;mem:4Gi;gpus:1", want: Vector{MilliCPUs: 500, Mem: 4 * gi, MilliGPUs: 1000}},
		{spec: "cpus=0.5, mem=64Mi, ports=[31000,31002-31003]", want: Vector{MilliCPUs: 500, Mem: 64 * mi, Ports: ps(31000, 31000, 31002, 31003)}},
		{spec: "mem:1.5", want: Vector{Mem: mi + mi/2}},
		{spec: "mem:4096e0", want: Vector{Mem: 4096}},
		{spec: "mem:1k", want: Vector{Mem: 1000}},
		{spec: "ports:31000-31005", want: Vector{Ports: ps(31000, 31005)}},
		{spec: "ports:[31000-31005, 31003-31010]", want: Vector{Ports: ps(31000, 31010)}},
		{spec: "ports:[]", want: Vector{}},
		{spec: " cpus : 1 ", want: Vector{MilliCPUs: 1000}},
		{spec: "cpus", wantErr: `invalid resource "cpus": expected NAME:VALUE`},
		{spec: ":1", wantErr: `invalid resource ":1"`},
		{spec: "cpu:1", wantErr: `unknown resource "cpu"`},
		{spec: "cpus(*):1", wantErr: `unknown resource "cpus(*)"`},
		{spec: "cpus:1;cpus:2", wantErr: "cpus given more than once"},
		{spec: "ports:[1];ports:[2]", wantErr: "ports given more than once"},
		{spec: "cpus:-1", wantErr: "cpus: -1 must not be negative"},
		{spec: "cpus:1E", wantErr: "cpus: 1E is more than the largest amount"},
		{spec: "cpus:0.0001", wantErr: "cpus: 0.0001 is less than the smallest amount, 0.001"},
		{spec: "cpus:0.0015", wantErr: "cpus: 0.0015 must be a multiple of 0.001"},
		{spec: "cpus:1e999999999", wantErr: "has an exponent of more than two digits"},
		{spec: "cpus:1e99", wantErr: "cpus: 1e99 is more than the largest amount"},
		{spec: "mem:1e-999999999", wantErr: "has an exponent of more than two digits"},
		{spec: "mem:1e-20", wantErr: "is less than the smallest amount, 0.001k"},
		{spec: "mem:1000000000000000000000000000000000000000000000000000000000000000000", wantErr: "is longer than 64 characters"},
		{spec: "mem:0.5e0", wantErr: "must be a whole number of bytes"},
		{spec: "mem:1e30", wantErr: "is more than the largest amount, 8Pi"},
		{spec: "cpus:1e30", wantErr: "is more than the largest amount"},
		{spec: "cpus:lots", wantErr: `cpus: "lots" is not a quantity`},
		{spec: "ports:[0-5]", wantErr: "a port is a number from 1 to 65535"},
		{spec: "ports:[65536]", wantErr: "a port is a number from 1 to 65535"},
		{spec: "ports:[10-5]", wantErr: `range "10-5" ends before it begins`},
		{spec: "ports:[1-2", wantErr: "unbalanced brackets"},
		{spec: "ports:[a]", wantErr: "a port is a number"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			g := NewWithT(t)
			got, err := Parse(tt.spec)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				g.Expect(func() { MustParse(tt.spec) }).To(Panic())
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
		})
	}
}

func TestParseLimits(t *testing.T) {
	tests := []struct {
		spec    string
		want    Limits
		str     string
		wantErr string
	}{
		{spec: "", want: Limits{}, str: "unlimited"},
		{spec: "cpus:4", want: Limits{}.With(Cpus, 4000), str: "cpus 4"},
		{spec: "cpus:4;mem:0", want: Limits{}.With(Cpus, 4000).With(Mem, 0), str: "cpus 4, mem 0"},
		{spec: "ports:[1]", wantErr: "ports cannot be limited"},
		{spec: "gpus:x", wantErr: "not a quantity"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			g := NewWithT(t)
			got, err := ParseLimits(tt.spec)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(got).To(Equal(tt.want))
			g.Expect(got.String()).To(Equal(tt.str))
		})
	}
}
