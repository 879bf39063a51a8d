package sign

import "crypto/rand"

// NonceSize is the length of a nonce from Nonce or AppendNonce.
const NonceSize = 16

// nonceAlphabet holds the 62 characters a nonce is drawn from. WeChat accepts
// up to 32 characters for noncestr; 16 from 62 symbols give 95 bits.
const nonceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Nonce returns a fresh NonceSize-character [A-Za-z0-9] nonce drawn
// uniformly from crypto/rand.
func Nonce() string {
	var buf [NonceSize]byte
	return string(AppendNonce(buf[:0]))
}

// AppendNonce appends a fresh NonceSize-character [A-Za-z0-9] nonce drawn
// uniformly from crypto/rand to dst and returns the extended slice. It
// allocates only if dst must grow.
func AppendNonce(dst []byte) []byte {
	// 24 random bytes give 16 accepted symbols unless more than 8 of them are
	// rejected, which happens with probability about 1e-8; then draw again.
	var random [24]byte
	var out [NonceSize]byte
	n := 0
	for n < len(out) {
		rand.Read(random[:]) // never fails since Go 1.24: it crashes the program instead
		for _, r := range random {
			if c, ok := nonceSymbol(r); ok {
				out[n] = c
				if n++; n == len(out) {
					break
				}
			}
		}
	}
	return append(dst, out[:]...)
}

// nonceSymbol maps a random byte to a nonce character by rejection sampling:
// it keeps the low 6 bits and rejects 62 and 63, so each of the 62 symbols
// comes from exactly 4 of the 256 byte values. A plain r%62 would favour the
// first 8 symbols by 25%.
func nonceSymbol(r byte) (byte, bool) {
	v := r & 63
	if v >= byte(len(nonceAlphabet)) {
		return 0, false
	}
	return nonceAlphabet[v], true
}
