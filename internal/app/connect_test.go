package app

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

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

// TestClientOptions applies the options clientOptions makes to nats.go's
// defaults and checks that they carry what the config says.
func TestClientOptions(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	ca, f := testcert.NewCA(t), tlsFiles{}
	f.write(t, ca)
	opts := clientOptions(config.NATS{User: "u", Password: "p", TLS: config.TLS{CA: f.ca, Cert: f.clientCert, Key: f.clientKey}}, "test", log)
	o := nats.GetDefaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			t.Fatal(err)
		}
	}
	if o.Name != "test" || o.User != "u" || o.Password != "p" {
		t.Errorf("name %q, user %q, password %q; want test, u, p", o.Name, o.User, o.Password)
	}
	if !o.Secure || o.TLSConfig == nil || o.RootCAsCB == nil || o.TLSCertCB == nil {
		t.Fatalf("secure %v, TLS config %v, root CAs set %v, client certificate set %v: want TLS with both",
			o.Secure, o.TLSConfig, o.RootCAsCB != nil, o.TLSCertCB != nil)
	}
	roots, err := o.RootCAsCB()
	if err != nil {
		t.Fatal(err)
	}
	want := x509.NewCertPool()
	want.AppendCertsFromPEM(ca.PEM)
	if !roots.Equal(want) {
		t.Error("the root CAs are not the configured CA")
	}
	cert, err := o.TLSCertCB()
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(f.clientCert, f.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Certificate) == 0 || !bytes.Equal(cert.Certificate[0], pair.Certificate[0]) {
		t.Error("the client certificate is not the configured one")
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
	f.checkDial(t, srv.ClientURL(), map[string]config.TLS{
		"no CA":          {Cert: f.clientCert, Key: f.clientKey},
		"no client cert": {CA: f.ca},
	})
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

// checkDial checks that a NATS server at url, serving the server
// certificate and requiring a client one, refuses a client with each TLS
// config of refused, and accepts one with the CA and the client
// certificate, over TLS.
func (f *tlsFiles) checkDial(t *testing.T, url string, refused map[string]config.TLS) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	for name, c := range refused {
		if nc, err := dial(t.Context(), config.NATS{URL: url, TLS: c}, "test", log); err == nil {
			nc.Close()
			t.Errorf("%s: connected", name)
		}
	}
	nc, err := dial(t.Context(), config.NATS{URL: url, TLS: config.TLS{CA: f.ca, Cert: f.clientCert, Key: f.clientKey}}, "test", log)
	if err != nil {
		t.Fatalf("with the CA and a client certificate: %v", err)
	}
	defer nc.Close()
	if _, err := nc.TLSConnectionState(); err != nil {
		t.Fatalf("not a TLS connection: %v", err)
	}
}
