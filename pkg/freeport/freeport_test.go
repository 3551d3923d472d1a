package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestNeverTheSamePortTwice(t *testing.T) {
	seen := map[int]bool{}
	for range 2000 {
		p := Local(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
}

func TestPortsAreBelowTheEphemeralRangeAndFree(t *testing.T) {
	high := ephemeralLow()
	for range 100 {
		p := Local(t)
		if p < lowest || p >= high {
			t.Fatalf("port %d outside [%d, %d): the kernel gives outgoing connections ports from %d up", p, lowest, high, high)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d handed out is not free: %v", p, err)
		}
		l.Close()
	}
}

func TestABoundPortIsNotHandedOut(t *testing.T) {
	// Hold most of the range's ports bound: what On hands out is always one
	// of the others.
	high := ephemeralLow()
	low := max(lowest, high-spread)
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	bound := map[int]bool{}
	for port := low; port < high && len(held) < 2000; port += 2 {
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			held = append(held, l)
			bound[port] = true
		}
	}
	for range 200 {
		if p := Local(t); bound[p] {
			t.Fatalf("port %d is bound, yet handed out", p)
		}
	}
}
