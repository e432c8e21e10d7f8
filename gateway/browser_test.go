package gateway

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/conveyor-run/conveyor"
)

// TestCheckHost: without tokens only loopback names are served, and any
// IP address too when the API is served beyond loopback (IPHosts); with
// tokens any host.
func TestCheckHost(t *testing.T) {
	for _, tc := range []struct {
		host            string
		open, ips, toks bool // served without tokens, with IPHosts, with tokens
	}{
		{"127.0.0.1:8080", true, true, true},
		{"127.1.2.3", true, true, true},
		{"localhost:8080", true, true, true},
		{"app.localhost:8080", true, true, true},
		{"Localhost.", true, true, true},
		{"[::1]:8080", true, true, true},
		{"10.0.0.5:8080", false, true, true},
		{"[fe80::1]:8080", false, true, true},
		{"evil.example:8080", false, false, true},
		{"127.0.0.1.evil.example", false, false, true},
		{"", false, false, true},
	} {
		for _, g := range []struct {
			want bool
			cfg  Config
		}{
			{tc.open, Config{}},
			{tc.ips, Config{IPHosts: true}},
			{tc.toks, Config{Tokens: []Token{{Name: "t"}}}},
		} {
			r := httptest.NewRequest("GET", "/v1/jobs", nil)
			r.Host = tc.host
			err := (&Gateway{cfg: g.cfg}).checkHost(r)
			if (err == nil) != g.want {
				t.Errorf("host %q, IPHosts %v, %d tokens: %v, want served %v", tc.host, g.cfg.IPHosts, len(g.cfg.Tokens), err, g.want)
			}
			if err != nil && conveyor.ErrorCode(err) != conveyor.EMISDIRECTED {
				t.Errorf("host %q: code %s", tc.host, conveyor.ErrorCode(err))
			}
		}
	}
}

// TestCheckJSONBody: a body (on any method but GET and HEAD) must be
// declared JSON; no body needs no type.
func TestCheckJSONBody(t *testing.T) {
	for _, tc := range []struct {
		method, body, ct string
		ok               bool
	}{
		{"POST", "{}", "application/json", true},
		{"POST", "{}", "application/json; charset=utf-8", true},
		{"POST", "{}", "APPLICATION/JSON", true},
		{"POST", "{}", "", false},
		{"POST", "{}", "text/plain", false},
		{"POST", "{}", "application/x-www-form-urlencoded", false},
		{"POST", "{}", "multipart/form-data; boundary=x", false},
		{"POST", "{}", "application/jsonx", false},
		{"POST", "{}", "application/json;;", false},
		{"DELETE", "{}", "text/plain", false},
		{"POST", "", "", true},
		{"POST", "", "text/plain", true},
		{"GET", "{}", "text/plain", true},
	} {
		var r = httptest.NewRequest(tc.method, "/v1/jobs", strings.NewReader(tc.body))
		if tc.ct != "" {
			r.Header.Set("Content-Type", tc.ct)
		}
		err := checkJSONBody(r)
		if (err == nil) != tc.ok {
			t.Errorf("%s %q as %q: %v, want ok %v", tc.method, tc.body, tc.ct, err, tc.ok)
		}
		if err != nil && conveyor.ErrorCode(err) != conveyor.EMEDIATYPE {
			t.Errorf("%s as %q: code %s", tc.method, tc.ct, conveyor.ErrorCode(err))
		}
	}
}

// TestBearer: the scheme is case-insensitive, the secret is not.
func TestBearer(t *testing.T) {
	for _, tc := range []struct {
		header, secret string
		ok             bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer abc", "abc", true},
		{"BeArEr AbC", "AbC", true},
		{"Bearer   abc", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic abc", "", false},
		{"Bearerabc", "", false},
		{"", "", false},
	} {
		secret, ok := bearer(tc.header)
		if secret != tc.secret || ok != tc.ok {
			t.Errorf("bearer(%q) = %q, %v; want %q, %v", tc.header, secret, ok, tc.secret, tc.ok)
		}
	}
}
