package client_test

import (
	"testing"

	"github.com/conveyor-run/conveyor"
	"github.com/conveyor-run/conveyor/client"
)

func TestVerifyCallback(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{"id":"01J","status":"succeeded"}`)
	sig := conveyor.SignCallback(secret, body)
	if !client.VerifyCallback(secret, body, sig) {
		t.Fatalf("the gateway's signature %q does not verify", sig)
	}
	// The known answer, from
	// printf '%s' '{"id":"01J","status":"succeeded"}' | openssl dgst -sha256 -hmac s3cret
	if want := "sha256=124f7c83e2e858a30224dbef734894d5d54b01bd14de1d6ea45887f0f3bc88a7"; sig != want {
		t.Fatalf("signature %q, want %q", sig, want)
	}
	for _, bad := range []struct {
		name, sig string
		body      []byte
	}{
		{"other body", sig, []byte(`{"id":"01J","status":"failed"}`)},
		{"no prefix", sig[len("sha256="):], body},
		{"not hex", "sha256=zz", body},
		{"empty", "", body},
		{"truncated", sig[:len(sig)-2], body},
	} {
		if client.VerifyCallback(secret, bad.body, bad.sig) {
			t.Errorf("%s: verified", bad.name)
		}
	}
	if client.VerifyCallback([]byte("other"), body, sig) {
		t.Error("verified under another secret")
	}
}
