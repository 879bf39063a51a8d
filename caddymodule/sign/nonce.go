package sign

import (
	crand "crypto/rand"
	"math/rand/v2"
	"sync"
)

// NonceSize is the length of a nonce from Nonce or AppendNonce.
const NonceSize = 16

// nonceAlphabet holds the 62 characters a nonce is drawn from. WeChat accepts
// up to 32 characters for noncestr; 16 from 62 symbols give 95 bits.
const nonceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Nonce returns a fresh NonceSize-character [A-Za-z0-9] nonce drawn
// uniformly from a ChaCha8 generator seeded from crypto/rand.
func Nonce() string {
	var buf [NonceSize]byte
	return string(AppendNonce(buf[:0]))
}

// AppendNonce appends a fresh NonceSize-character [A-Za-z0-9] nonce drawn
// uniformly from a ChaCha8 generator seeded from crypto/rand to dst and
// returns the extended slice. It allocates only if dst must grow.
func AppendNonce(dst []byte) []byte {
	var out [NonceSize]byte
	src := chachaPool.Get().(*rand.ChaCha8)
	// Each 6 bits of a uint64 pick a symbol (nonceSymbol looks at the low
	// 6 bits of a byte). Two uint64s give 16 symbols unless more than 4 of
	// their 20 groups are rejected.
	for n := 0; n < len(out); {
		x := src.Uint64()
		for k := 0; k < 10 && n < len(out); k++ {
			if c, ok := nonceSymbol(byte(x)); ok {
				out[n] = c
				n++
			}
			x >>= 6
		}
	}
	chachaPool.Put(src)
	return append(dst, out[:]...)
}

// chachaPool holds ChaCha8 generators, each seeded from crypto/rand:
// cryptographically strong, and a tenth of the cost of a crypto/rand call
// per nonce (a getrandom per request was a third of the signature path).
var chachaPool = sync.Pool{New: func() any {
	var seed [32]byte
	crand.Read(seed[:]) // never fails since Go 1.24: it crashes the program instead
	return rand.NewChaCha8(seed)
}}

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
