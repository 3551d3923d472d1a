package freeport

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Ports handed out are in [low, ephemeral low bound): with Linux's default
// range of ephemeral ports (32768-60999), 16384 to 32767.
const (
	// spread is how many ports below the ephemeral range are handed out.
	spread = 16384
	// lowest is the lowest port ever handed out, above the well-known ones.
	lowest = 1024
	// defaultEphemeralLow is the low bound of the ephemeral range when the
	// kernel does not say (Linux's default, and IANA's 49152 is above it).
	defaultEphemeralLow = 32768
	// attempts is how many ports On tries before it gives up.
	attempts = 1000
)

var (
	mu     sync.Mutex
	issued = map[string]bool{} // host:port handed out by this process
)

// On returns a TCP port free on ip that this process has not handed out
// before, below the kernel's range of ephemeral ports.
func On(t testing.TB, ip string) int {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	high := ephemeralLow()
	low := max(lowest, high-spread)
	for range attempts {
		port := low + rand.IntN(high-low)
		addr := net.JoinHostPort(ip, strconv.Itoa(port))
		if issued[addr] {
			continue
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue // in use
		}
		l.Close()
		issued[addr] = true
		return port
	}
	t.Fatalf("found no free port on %s in %d-%d that was not handed out already", ip, low, high-1)
	return 0
}

// Local returns a TCP port free on 127.0.0.1 (see On).
func Local(t testing.TB) int {
	t.Helper()
	return On(t, "127.0.0.1")
}

// ephemeralLow returns the lowest port of the kernel's ephemeral range.
func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return defaultEphemeralLow
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 {
		return defaultEphemeralLow
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil || low <= lowest {
		return defaultEphemeralLow
	}
	return low
}
