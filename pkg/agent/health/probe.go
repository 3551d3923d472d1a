package health

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"meseta.dev/meseta/apis/v1alpha1"
)

// Prober runs one check; a nil error is healthy. The context carries the
// check's timeout.
type Prober interface {
	Probe(ctx context.Context) error
}

// ProberFunc adapts a function to Prober.
type ProberFunc func(ctx context.Context) error

// Probe implements Prober.
func (f ProberFunc) Probe(ctx context.Context) error { return f(ctx) }

// ExecFunc runs argv inside the task's container and returns its exit code and
// (some of) its output.
type ExecFunc func(ctx context.Context, argv []string) (code int, output string, err error)

// NewProber returns the prober of spec: HTTP and TCP checks reach host (the
// node: tasks share its network), Command checks run through exec.
func NewProber(spec Spec, host string, exec ExecFunc) (Prober, error) {
	switch spec.Type {
	case v1alpha1.HealthCheckHTTP:
		return httpProber(spec, host), nil
	case v1alpha1.HealthCheckTCP:
		addr := net.JoinHostPort(host, strconv.Itoa(int(spec.Port)))
		return ProberFunc(func(ctx context.Context) error {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err != nil {
				return err
			}
			return conn.Close()
		}), nil
	case v1alpha1.HealthCheckCommand:
		if len(spec.Command) == 0 || exec == nil {
			return nil, errors.New("a Command health check needs a command")
		}
		return ProberFunc(func(ctx context.Context) error {
			code, out, err := exec(ctx, spec.Command)
			if err != nil {
				return err
			}
			if code != 0 {
				return fmt.Errorf("command %q exited with code %d: %s", strings.Join(spec.Command, " "), code, strings.TrimSpace(out))
			}
			return nil
		}), nil
	}
	return nil, fmt.Errorf("unknown health check type %q", spec.Type)
}

// httpProber sends GET requests; a status from 200 to 399 is healthy. HTTPS
// certificates are not verified, as in Mesos.
func httpProber(spec Spec, host string) Prober {
	scheme := "http"
	transport := &http.Transport{DisableKeepAlives: true, Proxy: nil}
	if spec.Scheme == v1alpha1.HTTPSchemeHTTPS {
		scheme = "https"
		transport.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // health checks do not verify, as in Mesos
	}
	client := &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(host, strconv.Itoa(int(spec.Port))), spec.Path)
	return ProberFunc(func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "meseta-agent-health-check")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 399 {
			return fmt.Errorf("GET %s answered %s", url, resp.Status)
		}
		return nil
	})
}
