package app

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/conveyor-run/conveyor"
)

// operatorServer is a NATS server in operator mode — decentralized JWT
// auth, as NGS or a nats-server set up with nsc runs it — with JetStream,
// and the means to issue .creds files its accounts accept.
type operatorServer struct {
	srv     *natsserver.Server
	account nkeys.KeyPair // the account that may use JetStream
}

// startOperatorServer starts the server: an operator, a system account and
// one account with JetStream, all in a memory resolver.
func startOperatorServer(t *testing.T) *operatorServer {
	t.Helper()
	op := newKey(t, nkeys.CreateOperator)
	opPub, _ := op.PublicKey()
	opClaims := jwt.NewOperatorClaims(opPub)
	opClaims.Name = "test-operator"
	if _, err := opClaims.Encode(op); err != nil {
		t.Fatal(err)
	}
	account := func(name string, js bool) (nkeys.KeyPair, string, string) {
		kp := newKey(t, nkeys.CreateAccount)
		pub, _ := kp.PublicKey()
		ac := jwt.NewAccountClaims(pub)
		ac.Name = name
		if js {
			ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
		}
		token, err := ac.Encode(op)
		if err != nil {
			t.Fatal(err)
		}
		return kp, pub, token
	}
	_, sysPub, sysJWT := account("SYS", false)
	app, appPub, appJWT := account("APP", true)
	resolver := &natsserver.MemAccResolver{}
	for pub, token := range map[string]string{sysPub: sysJWT, appPub: appJWT} {
		if err := resolver.Store(pub, token); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(),
		TrustedOperators: []*jwt.OperatorClaims{opClaims}, AccountResolver: resolver, SystemAccount: sysPub,
	})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("operator-mode server not ready")
	}
	return &operatorServer{srv: srv, account: app}
}

// creds writes a .creds file of a new user of the account kp.
func writeCreds(t *testing.T, account nkeys.KeyPair) string {
	t.Helper()
	user := newKey(t, nkeys.CreateUser)
	pub, _ := user.PublicKey()
	uc := jwt.NewUserClaims(pub)
	uc.Name = "conveyor"
	token, err := uc.Encode(account)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := user.Seed()
	data, err := jwt.FormatUserConfig(token, seed)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "conveyor.creds")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newKey(t *testing.T, create func() (nkeys.KeyPair, error)) nkeys.KeyPair {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// TestCreds: a gateway and a runner reach an operator-mode NATS server
// with nats.creds and run a job end to end; a wrong, unreadable or
// malformed creds file stops the start at once with an error that says
// what went wrong.
func TestCreds(t *testing.T) {
	ns := startOperatorServer(t)
	cfg := testConfig(t, t.TempDir())
	cfg.NATS.URL = ns.srv.ClientURL()
	cfg.NATS.Creds = writeCreds(t, ns.account)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := StartRoles(ctx, cfg, RoleGateway|RoleRunner, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	s := &server{t: t, app: a, base: "http://" + a.Addr()}
	j := s.submit(map[string]any{"algorithm": "is_prime", "input": map[string]any{"n": 97}}, "?wait=20s", http.StatusOK)
	if j.Status != conveyor.StatusSucceeded || string(j.Output) != `{"n":97,"prime":true}` {
		t.Fatalf("job over creds: %s %s %+v", j.Status, j.Output, j.Error)
	}

	stranger := newKey(t, nkeys.CreateAccount) // an account the server does not trust
	garbage := filepath.Join(t.TempDir(), "garbage.creds")
	if err := os.WriteFile(garbage, []byte("not a creds file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, creds, want string }{
		{"an untrusted account", writeCreds(t, stranger), "authorization violation"},
		{"a missing file", filepath.Join(t.TempDir(), "none.creds"), "no such file"},
		{"not a creds file", garbage, "no nkey seed found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := cfg
			bad.NATS.Creds = tc.creds
			var logs logBuffer
			a, err := StartRoles(ctx, bad, RoleGateway|RoleRunner, slog.New(slog.NewTextHandler(&logs, nil)))
			if err == nil {
				a.Stop()
				t.Fatal("started")
			}
			msg := err.Error()
			if !strings.Contains(strings.ToLower(msg), tc.want) || !strings.Contains(msg, cfg.NATS.URL+" with nats.creds "+tc.creds+": ") {
				t.Fatalf("error %q does not say %q of %s with nats.creds %s", msg, tc.want, cfg.NATS.URL, tc.creds)
			}
			// The retry's log line, not the clock, tells a retry.
			if strings.Contains(logs.String(), "no NATS server answers yet, retrying") {
				t.Fatalf("retried as if no server answered:\n%s", logs.String())
			}
			t.Log(err)
		})
	}
}
