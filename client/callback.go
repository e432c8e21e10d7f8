package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// VerifyCallback reports whether signature, the X-Conveyor-Signature
// header of a completion callback, signs body under secret: it is
// "sha256=" and the hex HMAC-SHA256 of the exact body. Pass the body as
// read, before decoding it. The comparison takes constant time.
func VerifyCallback(secret, body []byte, signature string) bool {
	hexSum, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}
