package freeport

import (
	"net"
	"sync"
	"testing"
)

var (
	mu     sync.Mutex
	issued = map[string]bool{} // host:port handed out by this process
)

// On returns a TCP port free on ip that this process has not handed out
// before.
func On(t testing.TB, ip string) int {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	// Listeners held open until the end cannot be given twice by the kernel.
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for range 100 {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			t.Fatalf("failed to find a free port on %s: %v", ip, err)
		}
		held = append(held, l)
		addr := l.Addr().String()
		if !issued[addr] {
			issued[addr] = true
			return l.Addr().(*net.TCPAddr).Port
		}
	}
	t.Fatalf("found no free port on %s that was not handed out already", ip)
	return 0
}

// Local returns a TCP port free on 127.0.0.1 (see On).
func Local(t testing.TB) int {
	t.Helper()
	return On(t, "127.0.0.1")
}
