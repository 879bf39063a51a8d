package sandbox

import (
	"crypto/rand"
	"encoding/base64"
)

// Lengths of what the sandbox issues: real access tokens are well over 100
// characters and the ticket of WeChat's signature example is 86, all from
// the base64url alphabet.
const (
	tokenLen  = 136 // base64url of 102 random bytes
	ticketLen = 86  // base64url of 64 random bytes
)

// newCredential returns n characters of [A-Za-z0-9_-] from crypto/rand.
// n must be the unpadded base64 length of a whole number of bytes.
func newCredential(n int) string {
	b := make([]byte, base64.RawURLEncoding.DecodedLen(n))
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// isCredential reports whether s has the shape of what newCredential(n)
// returns, so that garbage answers 40014 as it does at WeChat.
func isCredential(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}
