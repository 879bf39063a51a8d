package sign

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"
)

// The fixed parts of the string WeChat signs. The keys are in ASCII order and
// the values are not URL-encoded: WeChat hashes the bytes exactly as listed.
const (
	keyTicket    = "jsapi_ticket="
	keyNonce     = "&noncestr="
	keyTimestamp = "&timestamp="
	keyURL       = "&url="
)

// stackBufSize is the largest signed string assembled on the stack. A real
// ticket (86 bytes), nonce, timestamp and keys take about 160 bytes, which
// leaves room for URLs of about 860 bytes, longer than almost any page URL
// (OAuth returns and WeChat share parameters included). Longer strings cost
// one heap allocation.
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
	return hex.AppendEncode(dst, sum[:])
}
