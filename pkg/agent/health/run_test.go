package health

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	clocktesting "k8s.io/utils/clock/testing"

	"meseta.dev/meseta/apis/v1alpha1"
)

// TestRunSchedule drives Run on a fake clock: no check before the delay, one
// per interval after it, results reported on change, and a stop after the kill.
func TestRunSchedule(t *testing.T) {
	g := NewWithT(t)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakeClock(start)
	spec := Spec{Delay: 5 * time.Second, Interval: 2 * time.Second, Timeout: time.Second, GracePeriod: 0, ConsecutiveFailures: 2}
	var mu sync.Mutex
	var checks []time.Time
	healthy := true
	prober := ProberFunc(func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		checks = append(checks, clk.Now())
		if healthy {
			return nil
		}
		return errors.New("down")
	})
	reports := make(chan Result, 10)
	done := make(chan struct{})
	go func() {
		Run(t.Context(), clk, spec, start, prober, func(r Result) { reports <- r })
		close(done)
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(checks) }
	step := func(d time.Duration) {
		g.Eventually(clk.HasWaiters).Should(BeTrue())
		clk.Step(d)
	}
	step(4 * time.Second)
	g.Consistently(count, 50*time.Millisecond).Should(Equal(0), "no check before the delay")
	step(time.Second)
	g.Eventually(count).Should(Equal(1))
	g.Eventually(reports).Should(Receive(HaveField("Healthy", true)))
	step(2 * time.Second)
	g.Eventually(count).Should(Equal(2))
	g.Consistently(reports, 50*time.Millisecond).ShouldNot(Receive(), "unchanged results are not reported")
	mu.Lock()
	healthy = false
	mu.Unlock()
	step(2 * time.Second)
	g.Eventually(reports).Should(Receive(And(HaveField("Healthy", false), HaveField("Kill", false))))
	step(2 * time.Second)
	g.Eventually(reports).Should(Receive(HaveField("Kill", true)))
	g.Eventually(done).Should(BeClosed())
	g.Expect(checks).To(Equal([]time.Time{start.Add(5 * time.Second), start.Add(7 * time.Second), start.Add(9 * time.Second), start.Add(11 * time.Second)}))
}

func TestProbers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	closed := closedPort(t)
	exec := func(_ context.Context, argv []string) (int, string, error) {
		if argv[0] == "true" {
			return 0, "", nil
		}
		return 1, "nope", nil
	}
	tests := []struct {
		name    string
		spec    Spec
		wantErr string
	}{
		{name: "http 200", spec: Spec{Type: v1alpha1.HealthCheckHTTP, Port: int32(port), Path: "/ok"}},
		{name: "http 302 is healthy", spec: Spec{Type: v1alpha1.HealthCheckHTTP, Port: int32(port), Path: "/redirect"}},
		{name: "http 503", spec: Spec{Type: v1alpha1.HealthCheckHTTP, Port: int32(port), Path: "/down"}, wantErr: "503"},
		{name: "http refused", spec: Spec{Type: v1alpha1.HealthCheckHTTP, Port: int32(closed), Path: "/"}, wantErr: "refused"},
		{name: "tcp open", spec: Spec{Type: v1alpha1.HealthCheckTCP, Port: int32(port)}},
		{name: "tcp closed", spec: Spec{Type: v1alpha1.HealthCheckTCP, Port: int32(closed)}, wantErr: "refused"},
		{name: "command exits 0", spec: Spec{Type: v1alpha1.HealthCheckCommand, Command: []string{"true"}}},
		{name: "command exits 1", spec: Spec{Type: v1alpha1.HealthCheckCommand, Command: []string{"false"}}, wantErr: "exited with code 1: nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			p, err := NewProber(tt.spec, "127.0.0.1", exec)
			g.Expect(err).NotTo(HaveOccurred())
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err = p.Probe(ctx)
			if tt.wantErr == "" {
				g.Expect(err).NotTo(HaveOccurred())
			} else {
				g.Expect(err).To(MatchError(ContainSubstring(tt.wantErr)))
			}
		})
	}
}

func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}
