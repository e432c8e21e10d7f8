package app

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/client"
	"github.com/conveyor-run/conveyor/internal/testcert"
)

// TestTLS: with http.tls the API is HTTPS only; the Go client trusts it
// with the CA given, and not without.
func TestTLS(t *testing.T) {
	f := testcert.NewCA(t).Write(t, x509.ExtKeyUsageServerAuth)
	cfg := testConfig(t, t.TempDir())
	cfg.HTTP.TLS.Cert, cfg.HTTP.TLS.Key = f.Cert, f.Key
	s := startServer(t, cfg)
	url := s.app.URL()
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("URL %s, want https", url)
	}

	pool, err := client.LoadCACert(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(url, client.WithRootCAs(pool))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j, err := c.Submit(ctx, conveyor.SubmitRequest{Algorithm: "is_prime", Input: json.RawMessage(`{"n":13}`)})
	if err != nil {
		t.Fatal(err)
	}
	if j, err = c.Wait(ctx, j.ID, 20*time.Second); err != nil || j.Status != conveyor.StatusSucceeded {
		t.Fatalf("job %+v, err %v", j, err)
	}

	untrusting, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := untrusting.Get(ctx, j.ID); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a client without the CA: err %v, want a certificate error", err)
	}

	// Plain HTTP on the TLS port gets no API answer.
	resp, err := httpClient.Get("http://" + s.app.Addr() + "/v1/jobs/" + j.ID)
	if err == nil {
		var got conveyor.Job
		if json.NewDecoder(resp.Body).Decode(&got) == nil && got.ID != "" {
			t.Fatal("plain HTTP read a job from the TLS port")
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP: status %d, want 400", resp.StatusCode)
		}
	}
}

// TestPythonClientTLS: the Python SDK's client reaches an HTTPS API with
// the CA in $CONVEYOR_CACERT, and refuses it without.
func TestPythonClientTLS(t *testing.T) {
	f := testcert.NewCA(t).Write(t, x509.ExtKeyUsageServerAuth)
	cfg := testConfig(t, t.TempDir())
	cfg.HTTP.TLS.Cert, cfg.HTTP.TLS.Key = f.Cert, f.Key
	s := startServer(t, cfg)
	script := fmt.Sprintf(`
import conveyor, ssl
job = conveyor.Client(%[1]q).submit("is_prime", {"n": 7}, wait=10)
print("final", job["status"])
try:
    conveyor.Client(%[1]q, cafile="").get(job["id"])
except Exception as e:
    print("untrusted:", type(e).__name__, e)
`, s.app.URL())
	out, err := runPythonClient(t, script, "CONVEYOR_CACERT="+f.CA)
	if err != nil || !strings.Contains(out, "final succeeded") || !strings.Contains(out, "CERTIFICATE_VERIFY_FAILED") {
		t.Fatalf("python client over TLS: %v\n%s", err, out)
	}
}
