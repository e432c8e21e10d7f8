package broker

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/conveyor-run/conveyor"
)

func TestFileStoreError(t *testing.T) {
	for _, c := range []struct {
		err  error
		code string
	}{
		{&jetstream.APIError{Code: 503, ErrorCode: 10023, Description: "insufficient resources"}, conveyor.ESTORAGE},
		{&jetstream.APIError{Code: 500, ErrorCode: 10047, Description: "insufficient storage resources available"}, conveyor.ESTORAGE},
		{errors.New("nats: timeout"), conveyor.EUNAVAILABLE},
	} {
		if got := conveyor.ErrorCode(fileStoreError(c.err)); got != c.code {
			t.Errorf("%v: %s, want %s", c.err, got, c.code)
		}
	}
}

func TestParseContentDigest(t *testing.T) {
	const b64 = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=" // sha-256 of "test"
	for _, c := range []struct {
		cd, d string
		ok    bool
		bad   bool
	}{
		{"sha-256=:" + b64 + ":", "", true, false},
		{"sha-512=:AAAA:, SHA-256=:" + b64 + ":", "", true, false},
		{"", "SHA-256=" + b64, true, false},
		{"", "", false, false},
		{"md5=:AAAA:", "", false, false},
		{"sha-256=:short:", "", false, true},
	} {
		sum, err := ParseContentDigest(c.cd, c.d)
		if (err != nil) != c.bad || (sum != nil) != c.ok {
			t.Errorf("%q %q: %x %v", c.cd, c.d, sum, err)
		}
	}
}
