package app

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"

	"github.com/conveyor-run/conveyor/config"
	"github.com/conveyor-run/conveyor/gateway"
	"github.com/conveyor-run/conveyor/services"
)

// tokens resolves the configured API tokens: a token_env token is read
// from its environment variable now, and only its hash is kept.
func tokens(auth config.Auth) ([]gateway.Token, error) {
	out := make([]gateway.Token, 0, len(auth.Tokens))
	for _, t := range auth.Tokens {
		gt := gateway.Token{Name: t.Name, Scopes: t.Scopes, Algorithms: t.Algorithms, Tenant: t.Tenant}
		if t.TokenEnv != "" {
			secret := os.Getenv(t.TokenEnv)
			if secret == "" {
				return nil, fmt.Errorf("auth token %s: environment variable %s is empty or unset", t.Name, t.TokenEnv)
			}
			gt.SHA256 = sha256.Sum256([]byte(secret))
		} else {
			b, err := hex.DecodeString(t.TokenSHA256)
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("auth token %s: bad token_sha256", t.Name)
			}
			copy(gt.SHA256[:], b)
		}
		out = append(out, gt)
	}
	return out, nil
}

// callbacks resolves the callbacks section: the signing secret is read
// from its environment variable now.
func callbacks(c config.Callbacks) (services.CallbackConfig, error) {
	out := services.CallbackConfig{
		AllowHosts: c.AllowHosts, Timeout: c.Timeout.Std(), Backoff: c.Backoff.Std(), RetryFor: c.RetryFor.Std(),
	}
	if len(c.AllowHosts) == 0 {
		return out, nil
	}
	secret := os.Getenv(c.SecretEnv)
	if secret == "" {
		return out, fmt.Errorf("callbacks: environment variable %s (secret_env) is empty or unset", c.SecretEnv)
	}
	out.Secret = []byte(secret)
	return out, nil
}

// loopback reports whether addr (host:port) binds only a loopback
// interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
