package sign

import (
	"crypto/sha1"
	"encoding/binary"
	"strconv"
	"unsafe"
)

// The fixed parts of the string WeChat signs. The keys are in ASCII order and
// the values are not URL-encoded: WeChat hashes the bytes exactly as listed.
const (
	keyTicket    = "jsapi_ticket="
	keyNonce     = "&noncestr="
	keyTimestamp = "&timestamp="
	keyURL       = "&url="
)

// stackBufSize is the largest signed string AppendJSSDK assembles on the
// stack, and the largest part after the ticket a JSSDKTicket assembles in
// its reused buffer. A real ticket (86 bytes), nonce, timestamp and keys
// take about 160 bytes, which leaves room for URLs of about 860 bytes,
// longer than almost any page URL (OAuth returns and WeChat share
// parameters included). A longer string costs AppendJSSDK one heap
// allocation; a JSSDKTicket hashes the URL where it is instead.
const stackBufSize = 1024

// JSSDKSize is the length of a JS-SDK signature: the lowercase hex of a
// SHA-1 digest.
const JSSDKSize = 2 * sha1.Size

// JSSDK returns the lowercase hex SHA-1 of
// "jsapi_ticket=T&noncestr=N&timestamp=TS&url=U", the wx.config signature.
// timestamp is in seconds; url is the page URL as the browser has it, without
// the fragment, byte for byte.
func JSSDK(ticket, nonce string, timestamp int64, url string) string {
	var buf [JSSDKSize]byte
	return string(AppendJSSDK(buf[:0], ticket, nonce, timestamp, url))
}

// AppendJSSDK appends the JSSDKSize hex digits of JSSDK's signature to dst
// and returns the extended slice. It does not allocate when dst has room for
// the signature and the signed string fits in stackBufSize bytes.
func AppendJSSDK(dst []byte, ticket, nonce string, timestamp int64, url string) []byte {
	n := len(keyTicket) + len(ticket) + len(keyNonce) + len(nonce) +
		len(keyTimestamp) + 20 + len(keyURL) + len(url) // 20 digits hold any int64
	var stack [stackBufSize]byte
	b := stack[:0]
	if n > len(stack) {
		b = make([]byte, 0, n)
	}
	b = append(b, keyTicket...)
	b = append(b, ticket...)
	b = append(b, keyNonce...)
	b = append(b, nonce...)
	b = append(b, keyTimestamp...)
	b = strconv.AppendInt(b, timestamp, 10)
	b = append(b, keyURL...)
	b = append(b, url...)
	sum := sha1.Sum(b)
	return appendHex(dst, &sum)
}

// A JSSDKTicket is a jsapi_ticket prepared for signing many pages. Every
// signed string starts with "jsapi_ticket=TICKET&noncestr="; a JSSDKTicket
// holds the SHA-1 state after that prefix's whole 64-byte blocks and the
// rest of it. A real ticket makes the prefix 109 bytes, so a page hashes
// one block fewer — a quarter of the SHA-1 work for a typical URL. A page
// then costs one call into crypto/sha1's block function: the signed
// string's own padding is appended to it, and the digest is read from the
// hash's saved state instead of through Sum (an extra copy of the digest
// and a second block call). It is safe for concurrent use.
//
// It holds the ticket: keep it only where the ticket is kept.
type JSSDKTicket struct {
	prefix string // "jsapi_ticket=TICKET&noncestr="
	state  []byte // the digest's state after prefix[:whole]; nil: hash from the start, with Sum
	whole  int    // 0 when state is nil
}

// NewJSSDKTicket prepares ticket for AppendJSSDK and AppendNonceJSSDK.
func NewJSSDKTicket(ticket string) *JSSDKTicket {
	prefix := keyTicket + ticket + keyNonce
	s := getState()
	defer putState(s)
	if s.restore != nil && s.save != nil {
		whole := len(prefix) &^ (sha1.BlockSize - 1)
		s.h.Reset()
		s.h.Write(s.buf[:s.add(0, prefix[:whole])])
		if state, err := s.save.AppendBinary(nil); err == nil {
			t := &JSSDKTicket{prefix: prefix, state: state, whole: whole}
			// The digest is read from the saved state, whose layout
			// crypto/sha1 does not promise: check it against Sum once.
			const nonce, ts, url = "0123456789abcdef", "1717171717", "https://example.com/?a=1"
			want := sha1.Sum([]byte(prefix + nonce + keyTimestamp + ts + keyURL + url))
			if got := t.sum(s, nonce, ts, url); *got == want {
				return t
			}
		}
	}
	return &JSSDKTicket{prefix: prefix}
}

// AppendJSSDK appends what the package's AppendJSSDK would for t's ticket,
// with timestamp in decimal: the JSSDKSize hex digits of the signature. It
// does not allocate when dst has room for them.
func (t *JSSDKTicket) AppendJSSDK(dst []byte, nonce, timestamp, url string) []byte {
	s := getState()
	dst = appendHex(dst, t.sum(s, nonce, timestamp, url))
	putState(s)
	return dst
}

// AppendNonceJSSDK appends a fresh nonce (as AppendNonce), then sep, then
// the signature for t's ticket, that nonce, timestamp and url (as
// AppendJSSDK): wx.config's nonceStr and signature with what separates
// them. timestamp is the Unix time in seconds in decimal, as wx.config
// gives it. It draws the nonce and hashes with one reused state, and does
// not allocate when dst has room.
func (t *JSSDKTicket) AppendNonceJSSDK(dst []byte, sep, timestamp, url string) []byte {
	s := getState()
	n := len(dst)
	dst = s.appendNonce(dst)
	var nonce [NonceSize]byte
	copy(nonce[:], dst[n:])
	dst = append(dst, sep...)
	dst = appendHex(dst, t.sum(s, bytesString(nonce[:]), timestamp, url))
	putState(s)
	return dst
}

// sum hashes the signed string with s's digest, starting from t's state.
func (t *JSSDKTicket) sum(s *signState, nonce, timestamp, url string) *[sha1.Size]byte {
	if t.state == nil || s.restore.UnmarshalBinary(t.state) != nil {
		return t.sumFromStart(s, nonce, timestamp, url)
	}
	n := s.add(0, t.prefix[t.whole:])
	n = s.addSigned(n, nonce, timestamp, url)
	// SHA-1's padding: 0x80, zeros up to 8 bytes short of a whole block,
	// the message length in bits. add leaves n at most stackBufSize, so it
	// fits in s.buf.
	size := len(t.prefix) + len(nonce) + len(keyTimestamp) + len(timestamp) + len(keyURL) + len(url)
	s.buf[n] = 0x80
	n++
	end := (n + 8 + sha1.BlockSize - 1) &^ (sha1.BlockSize - 1)
	clear(s.buf[n : end-8])
	binary.BigEndian.PutUint64(s.buf[end-8:end], uint64(size)*8)
	// The state was saved after whole blocks and add hashes only whole
	// buffers (stackBufSize is a multiple of the block size): the digest
	// holds nothing back, and this Write hashes s.buf where it is.
	s.h.Write(s.buf[:end])
	// crypto/sha1's state: "sha\x01", then the five words of the digest
	// (NewJSSDKTicket checked that layout against Sum).
	state, err := s.save.AppendBinary(s.state[:0])
	if err != nil || len(state) < 4+sha1.Size {
		return t.sumFromStart(s, nonce, timestamp, url)
	}
	copy(s.sum[:], state[4:])
	return &s.sum
}

// sumFromStart is sum without the saved state: the whole signed string,
// through Sum.
func (t *JSSDKTicket) sumFromStart(s *signState, nonce, timestamp, url string) *[sha1.Size]byte {
	s.h.Reset()
	n := s.add(0, t.prefix)
	n = s.addSigned(n, nonce, timestamp, url)
	s.h.Write(s.buf[:n])
	s.h.Sum(s.sum[:0])
	return &s.sum
}

// addSigned adds the signed string after "noncestr=" to s.buf from n on.
func (s *signState) addSigned(n int, nonce, timestamp, url string) int {
	n = s.add(n, nonce)
	n = s.add(n, keyTimestamp)
	n = s.add(n, timestamp)
	n = s.add(n, keyURL)
	return s.add(n, url)
}

// add copies str to s.buf from n on and returns the new length, hashing
// the first stackBufSize bytes whenever they are full. Only s.buf reaches
// the digest (an interface): the caller's strings do not escape to the
// heap.
func (s *signState) add(n int, str string) int {
	for len(str) > 0 {
		if n == stackBufSize {
			s.h.Write(s.buf[:stackBufSize])
			n = 0
		}
		c := copy(s.buf[n:stackBufSize], str)
		n += c
		str = str[c:]
	}
	return n
}

// bytesString views b as a string without copying; b must not change while
// the string is in use.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// appendHex appends the lowercase hex of sum, four bytes at a time: each
// uint32's nibbles are spread one per byte of a uint64, then turned into
// digits with no branch or table ('0'+v, plus 'a'-'0'-10 where v > 9).
func appendHex(dst []byte, sum *[sha1.Size]byte) []byte {
	n := len(dst)
	if cap(dst)-n < JSSDKSize {
		dst = append(dst, make([]byte, JSSDKSize)...)[:n]
	}
	out := dst[n : n+JSSDKSize]
	for i := range sha1.Size / 4 {
		x := uint64(sum[4*i])<<24 | uint64(sum[4*i+1])<<16 | uint64(sum[4*i+2])<<8 | uint64(sum[4*i+3])
		x = (x | x<<16) & 0x0000ffff0000ffff
		x = (x | x<<8) & 0x00ff00ff00ff00ff
		x = (x | x<<4) & 0x0f0f0f0f0f0f0f0f
		letters := (x + 0x0606060606060606) >> 4 & 0x0101010101010101
		x += 0x3030303030303030 + letters*('a'-'0'-10)
		o := out[8*i : 8*i+8]
		o[0], o[1], o[2], o[3] = byte(x>>56), byte(x>>48), byte(x>>40), byte(x>>32)
		o[4], o[5], o[6], o[7] = byte(x>>24), byte(x>>16), byte(x>>8), byte(x)
	}
	return dst[:n+JSSDKSize]
}
