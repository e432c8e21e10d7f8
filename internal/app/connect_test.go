package app

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/internal/testcert"
)

func TestReconnectDelay(t *testing.T) {
	for _, tc := range []struct {
		attempts int
		base     time.Duration
	}{{0, 100 * time.Millisecond}, {1, 200 * time.Millisecond}, {5, 3200 * time.Millisecond}, {6, 5 * time.Second}, {1000, 5 * time.Second}} {
		for range 50 {
			if d := reconnectBackoff.Delay(tc.attempts); d < tc.base/2 || d > tc.base {
				t.Fatalf("reconnect delay %d = %v, want within [%v, %v]", tc.attempts, d, tc.base/2, tc.base)
			}
		}
	}
}

func TestClientOptions(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if opts := clientOptions(config.NATS{User: "u", Password: "p", TLS: config.TLS{CA: "ca.pem"}}, "test", log); len(opts) == 0 {
		t.Error("user and password with a CA: no options")
	}
}

func TestRedactURLs(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                 "nats://127.0.0.1:4222",
		"nats://u:secret@a:4222, nats://b:4222": "nats://u:xxxxx@a:4222, nats://b:4222",
		"nats://a:4222,tls://user:pw@b:4222":    "nats://a:4222,tls://user:xxxxx@b:4222",
		"nats://tokenonly@a:4222":               "nats://xxxxx@a:4222",
	} {
		if got := redactURLs(in); got != want {
			t.Errorf("redactURLs(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDialTLS connects to a NATS server that requires TLS and a client
// certificate: with nats.tls.ca and nats.tls.cert/key it gets in; without
// the CA, or without the client certificate, it does not.
func TestDialTLS(t *testing.T) {
	ca, f := testcert.NewCA(t), tlsFiles{}
	f.write(t, ca)
	pair, err := tls.LoadX509KeyPair(f.serverCert, f.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	srv, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true, TLS: true, TLSVerify: true,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	log := slog.New(slog.DiscardHandler)
	url := srv.ClientURL()
	clientTLS := config.TLS{CA: f.ca, Cert: f.clientCert, Key: f.clientKey}
	for name, c := range map[string]config.TLS{
		"no CA":          {Cert: clientTLS.Cert, Key: clientTLS.Key},
		"no client cert": {CA: f.ca},
	} {
		if nc, err := dial(t.Context(), config.NATS{URL: url, TLS: c}, "test", log); err == nil {
			nc.Close()
			t.Errorf("%s: connected", name)
		}
	}
	nc, err := dial(t.Context(), config.NATS{URL: url, TLS: clientTLS}, "test", log)
	if err != nil {
		t.Fatalf("with the CA and a client certificate: %v", err)
	}
	defer nc.Close()
	if _, err := nc.TLSConnectionState(); err != nil {
		t.Fatalf("not a TLS connection: %v", err)
	}
}

// tlsFiles are the PEM files of a test CA and of a server and a client
// certificate it issued for 127.0.0.1.
type tlsFiles struct{ ca, serverCert, serverKey, clientCert, clientKey string }

// write issues the certificates and writes the files to temp dirs.
func (f *tlsFiles) write(t *testing.T, ca *testcert.CA) {
	t.Helper()
	srv, cli := ca.Write(t, x509.ExtKeyUsageServerAuth), ca.Write(t, x509.ExtKeyUsageClientAuth)
	f.ca, f.serverCert, f.serverKey = srv.CA, srv.Cert, srv.Key
	f.clientCert, f.clientKey = cli.Cert, cli.Key
}
