package client

import "github.com/conveyor-run/conveyor"

// VerifyCallback reports whether signature, the X-Conveyor-Signature
// header of a completion callback, signs body under secret: it is
// "sha256=" and the hex HMAC-SHA256 of the exact body. Pass the body as
// read, before decoding it. The comparison takes constant time.
func VerifyCallback(secret, body []byte, signature string) bool {
	return conveyor.VerifyCallback(secret, body, signature)
}
