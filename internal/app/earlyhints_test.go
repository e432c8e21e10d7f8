package app

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
)

// TestSubmitWaitEarlyHints: a submit with ?wait= tells the client the
// job's id as soon as the job is accepted — a 103 Early Hints response
// with the job's Location — then answers as before. A client that dies
// while waiting still knows its job; Go's client skips the 103 unless
// asked for it.
func TestSubmitWaitEarlyHints(t *testing.T) {
	s := startServer(t, testConfig(t, t.TempDir()))

	// On the wire: 103 with the Location first, then the finished job.
	for _, tc := range []struct{ path, body string }{
		{"/v1/jobs?wait=20s", `{"algorithm":"sleep","input":{"seconds":0.3}}`},
		{"/v1/algorithms/sleep/jobs?wait=20s", `{"seconds":0.3}`},
	} {
		conn, err := net.Dial("tcp", s.app.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(time.Minute))
		req := "POST " + tc.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n" +
			"Content-Length: " + strconv.Itoa(len(tc.body)) + "\r\n\r\n" + tc.body
		if _, err := io.WriteString(conn, req); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		hint, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		loc := hint.Header.Get("Location")
		if hint.StatusCode != http.StatusEarlyHints || !strings.HasPrefix(loc, "/v1/jobs/") {
			t.Fatalf("%s: first answer %d Location %q, want 103 with the job's Location", tc.path, hint.StatusCode, loc)
		}
		final, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		var j conveyor.Job
		if err := json.NewDecoder(final.Body).Decode(&j); err != nil {
			t.Fatal(err)
		}
		conn.Close()
		if final.StatusCode != http.StatusOK || j.Status != conveyor.StatusSucceeded || loc != "/v1/jobs/"+j.ID {
			t.Fatalf("%s: final %d %+v, early Location %q", tc.path, final.StatusCode, j, loc)
		}
	}

	// Go's client: Do returns the final answer; a trace sees the 103.
	var hinted string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if code == http.StatusEarlyHints {
			hinted = h.Get("Location")
		}
		return nil
	}}
	req, _ := http.NewRequest("POST", s.base+"/v1/jobs?wait=20s", strings.NewReader(`{"algorithm":"is_prime","input":{"n":7}}`))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j conveyor.Job
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || resp.StatusCode != http.StatusOK || j.Status != conveyor.StatusSucceeded {
		t.Fatalf("Go client: %d %+v %v", resp.StatusCode, j, err)
	}
	if hinted != "/v1/jobs/"+j.ID {
		t.Fatalf("Go client saw the 103 Location %q, want /v1/jobs/%s", hinted, j.ID)
	}

	// Python's http.client would take a 103 for the answer: it gets none,
	// and the SDK's submit with wait works.
	out, err := runPythonClient(t, fmt.Sprintf(`
import conveyor
print("status", conveyor.Client(%q).submit("sleep", {"seconds": 0.3}, wait=20)["status"])
`, s.base))
	if err != nil || !strings.Contains(out, "status succeeded") {
		t.Fatalf("python client, submit with wait: %v\n%s", err, out)
	}

	// Without ?wait= there is no 103: the 202 has the Location already.
	hinted = ""
	req, _ = http.NewRequest("POST", s.base+"/v1/jobs", strings.NewReader(`{"algorithm":"is_prime","input":{"n":7}}`))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp2, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusAccepted || hinted != "" {
		t.Fatalf("without wait: %d, 103 Location %q", resp2.StatusCode, hinted)
	}
}
