package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/conveyor-run/conveyor/config"
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
	if _, err := clientOptions(config.NATS{Creds: "x.creds", Token: "t"}, "test", log); err == nil {
		t.Error("creds and a token together: no error")
	}
	opts, err := clientOptions(config.NATS{User: "u", Password: "p", TLS: config.TLS{CA: "ca.pem"}}, "test", log)
	if err != nil || len(opts) == 0 {
		t.Errorf("user and password with a CA: %v", err)
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
	ca, f := newCA(t), tlsFiles{}
	f.write(t, ca)
	pair, err := tls.LoadX509KeyPair(f.serverCert, f.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.certPEM)
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

// write issues the certificates and writes the files to a temp dir.
func (f *tlsFiles) write(t *testing.T, ca *testCA) {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.ca = write("ca.pem", ca.certPEM)
	srvCert, srvKey := ca.issue(t, x509.ExtKeyUsageServerAuth)
	f.serverCert, f.serverKey = write("server.pem", srvCert), write("server.key", srvKey)
	cliCert, cliKey := ca.issue(t, x509.ExtKeyUsageClientAuth)
	f.clientCert, f.clientKey = write("client.pem", cliCert), write("client.key", cliKey)
}

// testCA is a certificate authority made up for a test.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a certificate for 127.0.0.1 with usage, and its key, PEM.
func (ca *testCA) issue(t *testing.T, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
