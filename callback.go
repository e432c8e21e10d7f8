package conveyor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Callback is a job's completion callback: where the gateway POSTs the
// job once it is final, and how its deliveries went so far. It is set at
// submit (from callback_url) and then changed only by the gateway that
// delivers it; the job's status never depends on it.
type Callback struct {
	URL string `json:"url"`
	// Attempts counts the POSTs made so far.
	Attempts int `json:"attempts,omitempty"`
	// LastStatus is the HTTP status of the last attempt (0: no answer).
	LastStatus int `json:"last_status,omitempty"`
	// LastError says why the last attempt failed, if it did.
	LastError string `json:"last_error,omitempty"`
	// DeliveredAt is when a POST was answered with a 2xx status.
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	// GaveUpAt is when delivery stopped being retried.
	GaveUpAt *time.Time `json:"gave_up_at,omitempty"`
}

// Pending reports whether the callback still has to be delivered.
func (c *Callback) Pending() bool {
	return c != nil && c.DeliveredAt == nil && c.GaveUpAt == nil
}

// CallbackSignatureHeader is the header of a callback that signs its body.
const CallbackSignatureHeader = "X-Conveyor-Signature"

// SignCallback returns the X-Conveyor-Signature of a callback body:
// "sha256=" and the hex HMAC-SHA256 of the exact body under secret.
func SignCallback(secret, body []byte) string {
	return "sha256=" + hex.EncodeToString(callbackMAC(secret, body))
}

// VerifyCallback reports whether signature, the X-Conveyor-Signature
// header of a callback, signs body under secret (see SignCallback). Pass
// the body as read, before decoding it. The comparison takes constant
// time.
func VerifyCallback(secret, body []byte, signature string) bool {
	hexSum, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	return err == nil && hmac.Equal(got, callbackMAC(secret, body))
}

func callbackMAC(secret, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return m.Sum(nil)
}
