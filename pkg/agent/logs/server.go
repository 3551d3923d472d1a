package logs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// Stream names a task's output file.
type Stream string

// The streams of a task.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// TaskFiles finds the sandboxes of the node's tasks.
type TaskFiles interface {
	// Sandbox returns the sandbox directory of the task (empty while it has
	// none), whether the task reached a terminal state, and whether the task
	// exists on this node at all.
	Sandbox(namespace, name string) (dir string, terminal, found bool)
}

// ServerConfig configures the agent's HTTPS endpoint.
type ServerConfig struct {
	// Address is where it listens, host:port.
	Address string
	// Cert is its serving certificate.
	Cert ServingCert
	// Authenticator authenticates callers (client certificates of the cluster CA,
	// bearer tokens through TokenReview).
	Authenticator authenticator.Request
	// Authorizer authorizes callers (SubjectAccessReview of get tasks/log).
	Authorizer authorizer.Authorizer
	// Tasks finds the tasks' sandboxes.
	Tasks TaskFiles
	// PollInterval is how often a followed file is checked for more output;
	// default 200ms.
	PollInterval time.Duration
	// Logger logs failed requests.
	Logger logr.Logger
}

// Server serves the output of the node's tasks:
//
//	GET /tasks/NAMESPACE/NAME/log?stream=stdout|stderr&follow=true
//
// Callers are authenticated like the API server's clients and must be allowed
// to get the subresource tasks/log of the task.
type Server struct {
	cfg      ServerConfig
	listener net.Listener
	srv      *http.Server
}

// NewServer listens on cfg.Address; Serve serves.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 200 * time.Millisecond
	}
	pair, err := tls.LoadX509KeyPair(cfg.Cert.CertFile, cfg.Cert.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("failed to load the serving certificate: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on %s: %w", cfg.Address, err)
	}
	s := &Server{cfg: cfg, listener: ln}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("GET /tasks/{namespace}/{name}/log", s.serveLog)
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{pair},
			// The authenticator verifies client certificates against the
			// cluster CA; callers with a token send none.
			ClientAuth: tls.RequestClientCert,
			MinVersion: tls.VersionTLS12,
		},
		ErrorLog: nil,
	}
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.listener.Addr().(*net.TCPAddr).Port }

// Start serves until ctx ends; it implements manager.Runnable.
func (s *Server) Start(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.ServeTLS(s.listener, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(shutdown) // followers are cut off
	_ = s.srv.Close()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) serveLog(w http.ResponseWriter, req *http.Request) {
	ns, name := req.PathValue("namespace"), req.PathValue("name")
	resp, ok, err := s.cfg.Authenticator.AuthenticateRequest(req)
	if err != nil || !ok {
		http.Error(w, "Unauthorized: present a client certificate of the cluster or a bearer token", http.StatusUnauthorized)
		return
	}
	attrs := authorizer.AttributesRecord{
		User: resp.User, Verb: "get", Namespace: ns, Name: name,
		APIGroup: "meseta.dev", APIVersion: "v1alpha1", Resource: "tasks", Subresource: "log", ResourceRequest: true,
	}
	decision, reason, err := s.cfg.Authorizer.Authorize(req.Context(), attrs)
	if err != nil || decision != authorizer.DecisionAllow {
		msg := fmt.Sprintf("Forbidden: user %q cannot get tasks/log of task %s in namespace %q", resp.User.GetName(), name, ns)
		if reason != "" {
			msg += ": " + reason
		}
		http.Error(w, msg, http.StatusForbidden)
		return
	}
	stream := Stream(req.URL.Query().Get("stream"))
	if stream == "" {
		stream = Stdout
	}
	if stream != Stdout && stream != Stderr {
		http.Error(w, fmt.Sprintf("stream %q: must be stdout or stderr", stream), http.StatusBadRequest)
		return
	}
	follow, _ := strconv.ParseBool(req.URL.Query().Get("follow"))
	if _, _, found := s.cfg.Tasks.Sandbox(ns, name); !found {
		http.Error(w, fmt.Sprintf("task %s/%s is not on this node", ns, name), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush() // a follower learns at once that the stream is open
	}
	t := &tailer{tasks: s.cfg.Tasks, namespace: ns, name: name, stream: stream, poll: s.cfg.PollInterval}
	if err := t.copy(req.Context(), flushWriter{w}, follow); err != nil && req.Context().Err() == nil {
		s.cfg.Logger.V(1).Info("Streaming a task's output failed", "task", ns+"/"+name, "stream", stream, "error", err.Error())
	}
}

// flushWriter flushes after every write, so followers see output at once.
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}
