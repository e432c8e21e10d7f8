package e2e

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor/internal/testenv"
)

// TestCallbackGatewayKilled: a gateway killed with SIGKILL in the middle
// of a callback POST stops renewing its lease on the delivery, and another
// gateway makes it within seconds — not after the POST's timeout (here two
// minutes) has run out.
func TestCallbackGatewayKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	var mu sync.Mutex
	posts := 0
	done := make(chan struct{})
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		posts++
		first := posts == 1
		mu.Unlock()
		if first {
			select { // never answered: its gateway dies first
			case <-r.Context().Done():
			case <-done:
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	defer close(done)
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return posts
	}

	dir := t.TempDir()
	addrs := testenv.FreeAddrs(t, 3) // the broker's, then gateway A's and B's
	natsAddr := addrs[0]
	nats := "nats://" + natsAddr
	startProc(t, []string{"broker", "--listen", natsAddr, "--data-dir", filepath.Join(dir, "broker")}, nil, "", "")
	startProc(t, []string{"runner", "--nats", nats}, []string{"CONVEYOR_ALGORITHMS=[{kind: go, workers: {max: 2}}]"}, "", "")
	gatewayEnv := func(addr string) []string {
		return []string{
			"CONVEYOR_HTTP_ADDR=" + addr, "TEST_CALLBACK_SECRET=secret",
			"CONVEYOR_CALLBACKS={allow_hosts: [" + strings.TrimPrefix(recv.URL, "http://") + "], secret_env: TEST_CALLBACK_SECRET, timeout: 2m}",
		}
	}
	addrA := addrs[1]
	a := startProc(t, []string{"gateway", "--nats", nats}, gatewayEnv(addrA), "", addrA)
	id := a.submit(`{"algorithm":"is_prime","input":{"n":7},"callback_url":"` + recv.URL + `"}`)
	testenv.Eventually(t, "the first POST", func() bool { return count() == 1 })

	// A second gateway, started once the first holds the delivery; then
	// the first dies mid-POST.
	addrB := addrs[2]
	b := startProc(t, []string{"gateway", "--nats", nats}, gatewayEnv(addrB), "", addrB)
	a.kill(syscall.SIGKILL)
	killed := time.Now()
	testenv.Eventually(t, "the callback delivered by the other gateway", func() bool {
		j := b.job(id, "")
		return j.Callback != nil && j.Callback.DeliveredAt != nil
	})
	j := b.job(id, "")
	if count() != 2 || j.Callback.Attempts != 1 || j.Callback.LastStatus != 204 {
		t.Fatalf("%d POSTs, callback %+v; want the killed gateway's unrecorded one and one delivered", count(), j.Callback)
	}
	t.Logf("delivered %v after the kill", time.Since(killed).Round(100*time.Millisecond))
}
