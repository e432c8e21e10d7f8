package services

import (
	"net/url"
	"testing"
	"time"
)

func TestCallbackAllowed(t *testing.T) {
	c := CallbackConfig{AllowHosts: []string{"hooks.example.com", "127.0.0.1:9000", "[::1]:9001"}}
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://hooks.example.com/x", true},
		{"http://hooks.example.com/x", true},
		{"https://HOOKS.example.com:443/x", true},
		{"https://hooks.example.com:8443/x", false},
		{"http://127.0.0.1:9000/", true},
		{"http://127.0.0.1/", false},
		{"http://127.0.0.1:9001/", false},
		{"http://[::1]:9001/", true},
		{"http://evil.example.com/", false},
		{"http://hooks.example.com.evil.com/", false},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.allowed(u); got != tc.want {
			t.Errorf("%s: allowed %v, want %v", tc.url, got, tc.want)
		}
	}
	if (&CallbackConfig{}).CheckURL("https://hooks.example.com/") == nil {
		t.Error("with no allowed hosts a callback URL was accepted")
	}
}

func TestCallbackBackoff(t *testing.T) {
	c := CallbackConfig{Backoff: time.Second}
	for attempts, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 5: 16 * time.Second, 12: 2048 * time.Second, 13: time.Hour, 100: time.Hour} {
		for range 50 {
			if got := c.backoff(attempts); got < want/2 || got > want {
				t.Fatalf("backoff after %d attempts: %s, want within [%s, %s]", attempts, got, want/2, want)
			}
		}
	}
}
