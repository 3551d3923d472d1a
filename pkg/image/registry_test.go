package image

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	. "github.com/onsi/gomega"

	"meseta.dev/meseta/pkg/image/imagetest"
)

var quietLog = registry.Logger(log.New(io.Discard, "", 0))

// push writes an image or index to a registry.
func push(t *testing.T, ref string, img v1.Image, idx v1.ImageIndex, opts ...remote.Option) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if idx != nil {
		err = remote.WriteIndex(r, idx, opts...)
	} else {
		err = remote.Write(r, img, opts...)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// dialTo returns a transport that sends every connection to addr, so that any
// host name reaches the test registry.
func dialTo(addr string) *http.Transport {
	return &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
}

func TestRegistryPull(t *testing.T) {
	plain := httptest.NewServer(registry.New(quietLog))
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewTLSServer(registry.New(quietLog))
	t.Cleanup(tlsSrv.Close)
	plainHost := strings.TrimPrefix(plain.URL, "http://")
	tlsHost := strings.TrimPrefix(tlsSrv.URL, "https://")

	amd := imageOf(t, v1.Config{Cmd: []string{"amd64"}}, []imagetest.Entry{{Name: "arch", Body: "amd64"}})
	arm := imageOf(t, v1.Config{Cmd: []string{"arm64"}}, []imagetest.Entry{{Name: "arch", Body: "arm64"}})
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	push(t, plainHost+"/team/app:v1", amd, nil)
	push(t, plainHost+"/team/multi:v1", nil, idx)
	push(t, tlsHost+"/team/app:v1", amd, nil, remote.WithTransport(tlsSrv.Client().Transport))
	push(t, plainHost+"/team/app:latest", amd, nil)
	amdDigest, _ := amd.Digest()

	tests := []struct {
		name    string
		image   string
		opts    Options
		wantCmd string
		wantErr string
	}{
		{name: "tag over plain HTTP on loopback", image: plainHost + "/team/app:v1", wantCmd: "amd64"},
		{name: "digest", image: plainHost + "/team/app@" + amdDigest.String(), wantCmd: "amd64"},
		{name: "index picks linux/amd64", image: plainHost + "/team/multi:v1", opts: Options{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}, wantCmd: "amd64"},
		{name: "index picks linux/arm64 when asked", image: plainHost + "/team/multi:v1", opts: Options{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}, wantCmd: "arm64"},
		{name: "HTTPS", image: tlsHost + "/team/app:v1", opts: Options{Transport: tlsSrv.Client().Transport}, wantCmd: "amd64"},
		{name: "insecure registry by name over HTTP", image: "registry.test:5000/team/app:v1", opts: Options{InsecureRegistries: []string{"registry.test:5000"}, Transport: dialTo(plainHost)}, wantCmd: "amd64"},
		{name: "HTTP refused unless insecure", image: "registry.test:5000/team/app:v1", opts: Options{Transport: dialTo(plainHost)}, wantErr: "failed to pull image"},
		{name: "missing tag", image: plainHost + "/team/app:nope", wantErr: "MANIFEST_UNKNOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			s := newStore(t, tt.opts)
			img, err := s.Pull(t.Context(), tt.image)
			if tt.wantErr != "" {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
				return
			}
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(img.Config.Cmd).To(Equal([]string{tt.wantCmd}))
		})
	}
}

func TestRegistryPullPolicy(t *testing.T) {
	g := NewWithT(t)
	var requests atomic.Int64
	reg := registry.New(quietLog)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img := imageOf(t, v1.Config{Cmd: []string{"v1"}}, []imagetest.Entry{{Name: "f", Body: "1"}})
	push(t, host+"/app:v1", img, nil)
	push(t, host+"/app:latest", img, nil)

	s := newStore(t, Options{})
	_, err := s.Pull(t.Context(), host+"/app:v1")
	g.Expect(err).NotTo(HaveOccurred())
	before := requests.Load()
	_, err = s.Pull(t.Context(), host+"/app:v1")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(requests.Load()).To(Equal(before), "a pinned tag is not fetched again")

	_, err = s.Pull(t.Context(), host+"/app:latest")
	g.Expect(err).NotTo(HaveOccurred())
	before = requests.Load()
	_, err = s.Pull(t.Context(), host+"/app:latest")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(requests.Load()).To(BeNumerically(">", before), ":latest is resolved again")
	g.Expect(s.Unpacked()).To(Equal(int64(1)), "the shared layer is unpacked once")
}
