package logs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// fakeTasks is one task whose terminal state a test flips.
type fakeTasks struct {
	mu       sync.Mutex
	dir      string
	terminal bool
}

func (f *fakeTasks) Sandbox(ns, name string) (string, bool, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ns != "team-a" || name != "web" {
		return "", false, false
	}
	return f.dir, f.terminal, true
}

func (f *fakeTasks) finish() {
	f.mu.Lock()
	f.terminal = true
	f.mu.Unlock()
}

// tokenAuth accepts the bearer token "alice" (user alice) and "bob".
var tokenAuth = authenticator.RequestFunc(func(req *http.Request) (*authenticator.Response, bool, error) {
	switch req.Header.Get("Authorization") {
	case "Bearer alice":
		return &authenticator.Response{User: &user.DefaultInfo{Name: "alice"}}, true, nil
	case "Bearer bob":
		return &authenticator.Response{User: &user.DefaultInfo{Name: "bob"}}, true, nil
	}
	return nil, false, nil
})

// aliceOnly allows alice to get tasks/log in team-a, and nothing else.
var aliceOnly = authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if a.GetUser().GetName() == "alice" && a.GetVerb() == "get" && a.GetResource() == "tasks" &&
		a.GetSubresource() == "log" && a.GetNamespace() == "team-a" && a.GetAPIGroup() == "meseta.dev" {
		return authorizer.DecisionAllow, "", nil
	}
	return authorizer.DecisionDeny, "no rule", nil
})

func startServer(t *testing.T, tasks TaskFiles) (*http.Client, string) {
	t.Helper()
	cert, err := EnsureServingCert(t.TempDir(), []string{"127.0.0.1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ServerConfig{Address: "127.0.0.1:0", Cert: cert, Authenticator: tokenAuth, Authorizer: aliceOnly,
		Tasks: tasks, PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(cert.CABundle) {
		t.Fatal("bad CA bundle")
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return c, fmt.Sprintf("https://127.0.0.1:%d", srv.Port())
}

func get(t *testing.T, c *http.Client, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServerAuth(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stdout"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stderr"), []byte("oops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, base := startServer(t, &fakeTasks{dir: dir, terminal: true})
	tests := []struct {
		name     string
		path     string
		token    string
		wantCode int
		wantBody string
	}{
		{name: "stdout", path: "/tasks/team-a/web/log", token: "alice", wantCode: 200, wantBody: "hello\n"},
		{name: "stderr", path: "/tasks/team-a/web/log?stream=stderr", token: "alice", wantCode: 200, wantBody: "oops\n"},
		{name: "bad stream", path: "/tasks/team-a/web/log?stream=../../etc/passwd", token: "alice", wantCode: 400, wantBody: "must be stdout or stderr"},
		{name: "no credentials", path: "/tasks/team-a/web/log", wantCode: 401},
		{name: "not allowed", path: "/tasks/team-a/web/log", token: "bob", wantCode: 403, wantBody: `user "bob" cannot get tasks/log`},
		{name: "other namespace", path: "/tasks/team-b/web/log", token: "alice", wantCode: 403},
		{name: "unknown task", path: "/tasks/team-a/nope/log", token: "alice", wantCode: 404, wantBody: "not on this node"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			code, body := get(t, c, base+tt.path, tt.token)
			g.Expect(code).To(Equal(tt.wantCode), body)
			g.Expect(body).To(ContainSubstring(tt.wantBody))
		})
	}
}

// TestFollow: a follower gets what is appended until the task is terminal.
func TestFollow(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "stdout"))
	g.Expect(err).NotTo(HaveOccurred())
	defer f.Close()
	tasks := &fakeTasks{dir: dir}
	c, base := startServer(t, tasks)
	req, _ := http.NewRequest(http.MethodGet, base+"/tasks/team-a/web/log?follow=true", nil)
	req.Header.Set("Authorization", "Bearer alice")
	resp, err := c.Do(req)
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	var got syncBuffer
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&got, resp.Body); close(copied) }()
	for i := range 3 {
		fmt.Fprintf(f, "line %d\n", i)
		g.Eventually(got.String).Should(HaveSuffix(fmt.Sprintf("line %d\n", i)))
	}
	g.Consistently(copied, 100*time.Millisecond).ShouldNot(BeClosed(), "the stream stays open while the task runs")
	fmt.Fprintf(f, "last\n")
	tasks.finish()
	g.Eventually(copied).Should(BeClosed())
	g.Expect(got.String()).To(Equal("line 0\nline 1\nline 2\nlast\n"))
}

// TestSymlinkRefused: a task that replaces its output with a link to a host file
// does not get the agent to read it.
func TestSymlinkRefused(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	secret := filepath.Join(t.TempDir(), "secret")
	g.Expect(os.WriteFile(secret, []byte("host secret"), 0o600)).To(Succeed())
	g.Expect(os.Symlink(secret, filepath.Join(dir, "stdout"))).To(Succeed())
	c, base := startServer(t, &fakeTasks{dir: dir, terminal: true})
	_, body := get(t, c, base+"/tasks/team-a/web/log", "alice")
	g.Expect(body).NotTo(ContainSubstring("host secret"))
}

func TestEnsureServingCertReused(t *testing.T) {
	g := NewWithT(t)
	dir := t.TempDir()
	a, err := EnsureServingCert(dir, []string{"10.0.0.1", "node-a"})
	g.Expect(err).NotTo(HaveOccurred())
	b, err := EnsureServingCert(dir, []string{"10.0.0.1", "node-a"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(b.CABundle).To(Equal(a.CABundle), "the same certificate across restarts")
	c, err := EnsureServingCert(dir, []string{"10.0.0.2", "node-a"})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(c.CABundle).NotTo(Equal(a.CABundle), "a new address needs a new certificate")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
