package main

import (
	"context"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCACert: an https server with a private certificate is trusted with
// --cacert or CONVEYOR_CACERT, and refused without.
func TestCACert(t *testing.T) {
	srv := httptest.NewTLSServer(reply(200, queuedJob))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  string
		ok   bool
	}{
		{"no CA", nil, "", false},
		{"--cacert", []string{"--cacert", ca}, "", true},
		{"CONVEYOR_CACERT", nil, ca, true},
		{"--cacert of no certificate", []string{"--cacert", filepath.Join(t.TempDir(), "none.pem")}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, stdout, stderr := testEnv(srv.URL)
			e.getenv = func(k string) string {
				return map[string]string{"CONVEYOR_SERVER": srv.URL, "CONVEYOR_CACERT": tc.env}[k]
			}
			code := run(context.Background(), append([]string{"status", "j1", "--json"}, tc.args...), e)
			if ok := code == 0 && strings.Contains(stdout.String(), `"j1"`); ok != tc.ok {
				t.Fatalf("exit %d, stdout %q, stderr %q; want success %v", code, stdout, stderr, tc.ok)
			}
		})
	}
}
