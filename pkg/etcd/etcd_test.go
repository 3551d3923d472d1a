package etcd

import (
	"path/filepath"
	"testing"
)

func TestEmbedConfig(t *testing.T) {
	dir := t.TempDir()
	ec := embedConfig(Config{DataDir: dir, Name: "m1", Host: "127.0.0.1"}, ports{Client: 2379, Peer: 2380, HTTP: 2381})

	if got, want := ec.Dir, filepath.Join(dir, "member-data"); got != want {
		t.Errorf("data directory %q, want %q", got, want)
	}
	for _, u := range []struct{ what, got, want string }{
		{"client URL", ec.ListenClientUrls[0].String(), "https://127.0.0.1:2379"},
		{"advertised client URL", ec.AdvertiseClientUrls[0].String(), "https://127.0.0.1:2379"},
		{"client HTTP URL", ec.ListenClientHttpUrls[0].String(), "https://127.0.0.1:2381"},
		{"peer URL", ec.ListenPeerUrls[0].String(), "https://127.0.0.1:2380"},
	} {
		if u.got != u.want {
			t.Errorf("%s %s, want %s", u.what, u.got, u.want)
		}
	}
	if ec.InitialCluster != "m1=https://127.0.0.1:2380" {
		t.Errorf("initial cluster %q, want the member alone", ec.InitialCluster)
	}
	if !ec.ClientTLSInfo.ClientCertAuth || !ec.PeerTLSInfo.ClientCertAuth {
		t.Error("clients and peers must present certificates")
	}
	if ec.AutoCompactionMode != "periodic" || ec.AutoCompactionRetention != "1h" {
		t.Errorf("auto compaction %s %s, want periodic 1h", ec.AutoCompactionMode, ec.AutoCompactionRetention)
	}
	if err := ec.Validate(); err != nil {
		t.Errorf("etcd refuses the configuration: %v", err)
	}
}
