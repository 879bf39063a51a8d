package sign

import (
	"crypto/sha256"
	"hash"
	"sync"
)

// v3Hasher computes the SHA-256 of a WeChat Pay v3 message, which is a few
// lines each followed by "\n", without assembling the message: the body is
// hashed where it lies, so a large body is never copied, and the short lines
// pass through buf, because converting a string to []byte for an interface
// call (hash.Hash.Write) would allocate on every call.
type v3Hasher struct {
	h hash.Hash
	// buf carries short lines to the hash and the base64 text of a
	// signature to its decoder: 704 bytes hold the base64 of sig.
	buf [704]byte
	sum [sha256.Size]byte
	num [24]byte // a decimal timestamp
	// sig holds a decoded signature on its way to crypto/rsa: 512 bytes
	// take a 4096-bit key's, twice what WeChat Pay uses.
	sig [512]byte
}

// v3Hashers recycles hashers: with one the signing and verification paths
// add no allocation of their own to what crypto/rsa needs.
var v3Hashers = sync.Pool{New: func() any { return &v3Hasher{h: sha256.New()} }}

func getV3Hasher() *v3Hasher {
	v := v3Hashers.Get().(*v3Hasher)
	v.h.Reset()
	return v
}

func putV3Hasher(v *v3Hasher) { v3Hashers.Put(v) }

// hashLine hashes s followed by "\n", copying it through v.buf: handing a
// string or a caller's stack array to hash.Hash.Write would move it to the
// heap.
func hashLine[T ~string | ~[]byte](v *v3Hasher, s T) {
	for len(s) >= len(v.buf) {
		n := copy(v.buf[:], s)
		v.h.Write(v.buf[:n])
		s = s[n:]
	}
	n := copy(v.buf[:], s)
	v.buf[n] = '\n'
	v.h.Write(v.buf[:n+1])
}

// lineBytes hashes b, which is on the heap already (a body), in place,
// followed by "\n".
func (v *v3Hasher) lineBytes(b []byte) {
	v.h.Write(b)
	v.buf[0] = '\n'
	v.h.Write(v.buf[:1])
}

// digest returns the SHA-256 of what was hashed, in v.sum.
func (v *v3Hasher) digest() []byte {
	return v.h.Sum(v.sum[:0])
}
