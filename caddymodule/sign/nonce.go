package sign

import (
	crand "crypto/rand"
	"crypto/sha1"
	"encoding"
	"hash"
	"math/rand/v2"
	"sync"
)

// NonceSize is the length of a nonce from Nonce or AppendNonce.
const NonceSize = 16

// nonceAlphabet holds the 62 characters a nonce is drawn from. WeChat accepts
// up to 32 characters for noncestr; 16 from 62 symbols give 95 bits.
const nonceAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// nonceTable is nonceAlphabet indexed by any 6-bit value: the two values
// nonceSymbol rejects (62 and 63) read a filler that appendNonce writes
// past the nonce's end and never keeps.
const nonceTable = nonceAlphabet + "__"

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
	s := getState()
	dst = s.appendNonce(dst)
	putState(s)
	return dst
}

// appendNonce draws the nonce from s's generator. Each 6 bits of a uint64
// pick a symbol, by rejection as nonceSymbol does; two uint64s give 16
// symbols unless more than 4 of their 20 groups are rejected. The loop
// has no branch on the random bits: every group is written at out[n] and
// n moves on only when the group is kept, so a rejected group is
// overwritten by the next one (or lies past the end).
func (s *signState) appendNonce(dst []byte) []byte {
	var out [32]byte // 16 symbols, and up to 9 groups written after them
	n := 0
	for n < NonceSize {
		x := s.rng.Uint64()
		for range 10 {
			v := byte(x) & 63
			out[n&31] = nonceTable[v]
			keep := 0
			if v < byte(len(nonceAlphabet)) {
				keep = 1
			}
			n += keep
			x >>= 6
		}
	}
	return append(dst, out[:NonceSize]...)
}

// signState is what a nonce or a JS-SDK signature needs besides its
// inputs, reused through statePool: a ChaCha8 generator, each seeded from
// crypto/rand — cryptographically strong, and a tenth of the cost of a
// crypto/rand call per nonce (a getrandom per request was a third of the
// signature path) — and a SHA-1 digest with a buffer for the signed string.
// It never holds a ticket after the call that used it returns: the digest
// is restored from, or reset to, the caller's JSSDKTicket every time.
type signState struct {
	rng     rand.ChaCha8
	h       hash.Hash
	restore encoding.BinaryUnmarshaler // h's, or nil when it cannot be restored
	save    encoding.BinaryAppender    // h's, or nil when it cannot be saved
	// the signed string after the ticket, and room for SHA-1's padding
	buf   [stackBufSize + 2*sha1.BlockSize]byte
	state [128]byte // h's saved state
	sum   [sha1.Size]byte
}

var statePool = sync.Pool{New: func() any {
	var seed [32]byte
	crand.Read(seed[:]) // never fails since Go 1.24: it crashes the program instead
	s := &signState{h: sha1.New()}
	s.rng.Seed(seed)
	s.restore, _ = s.h.(encoding.BinaryUnmarshaler)
	s.save, _ = s.h.(encoding.BinaryAppender)
	return s
}}

func getState() *signState  { return statePool.Get().(*signState) }
func putState(s *signState) { statePool.Put(s) }

// nonceSymbol maps a random byte to a nonce character by rejection sampling:
// it keeps the low 6 bits and rejects 62 and 63, so each of the 62 symbols
// comes from exactly 4 of the 256 byte values. A plain r%62 would favour the
// first 8 symbols by 25%. appendNonce applies the same rule without a branch.
func nonceSymbol(r byte) (byte, bool) {
	v := r & 63
	if v >= byte(len(nonceAlphabet)) {
		return 0, false
	}
	return nonceAlphabet[v], true
}
