package testenv

import (
	"net"
	"testing"
	"time"
)

// eventuallyFor bounds Eventually: only a condition that never comes true
// waits that long, and then the test fails.
const eventuallyFor = 30 * time.Second

// Eventually polls cond every 10ms until it holds, and fails the test if it
// does not within 30s. It is for what gives no signal to wait on (a
// process's state, a peer count); what does, a test waits on instead.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(eventuallyFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", eventuallyFor, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FreeAddr returns a loopback address whose port is free right now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return FreeAddrs(t, 1)[0]
}

// FreeAddrs returns n distinct loopback addresses with ports free right
// now. It holds every port until it has them all: n calls of FreeAddr may
// return the same port twice, and two servers then fight over it.
func FreeAddrs(t testing.TB, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addrs[i] = ln.Addr().String()
	}
	return addrs
}
