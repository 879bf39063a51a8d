package sign

import (
	"crypto/sha1"
	"strconv"
	"testing"
)

var (
	benchSink []byte
	sumSink   [sha1.Size]byte
)

// BenchmarkSignaturePath is what a request costs: a nonce and a signature,
// appended to buffers the caller reuses.
func BenchmarkSignaturePath(b *testing.B) {
	v := loadVectors(b)[0]
	nonce := make([]byte, 0, NonceSize)
	sig := make([]byte, 0, JSSDKSize)
	b.ReportAllocs()
	for b.Loop() {
		nonce = AppendNonce(nonce[:0])
		sig = AppendJSSDK(sig[:0], v.Ticket, string(nonce), v.Timestamp, v.URL)
	}
	benchSink = sig
}

// BenchmarkSignaturePathStrings is the same path with the string results
// wx.config needs.
func BenchmarkSignaturePathStrings(b *testing.B) {
	v := loadVectors(b)[0]
	b.ReportAllocs()
	for b.Loop() {
		benchSink = []byte(JSSDK(v.Ticket, Nonce(), v.Timestamp, v.URL))[:0]
	}
}

// BenchmarkBareSHA1 hashes the same string, already assembled: the floor the
// signature path is measured against.
func BenchmarkBareSHA1(b *testing.B) {
	v := loadVectors(b)[0]
	s := []byte("jsapi_ticket=" + v.Ticket + "&noncestr=" + v.Nonce +
		"&timestamp=" + strconv.FormatInt(v.Timestamp, 10) + "&url=" + v.URL)
	b.ReportAllocs()
	for b.Loop() {
		sumSink = sha1.Sum(s)
	}
}

func BenchmarkNonce(b *testing.B) {
	buf := make([]byte, 0, NonceSize)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendNonce(buf[:0])
	}
	benchSink = buf
}

// BenchmarkAppendJSSDK is the signature alone, without drawing a nonce.
func BenchmarkAppendJSSDK(b *testing.B) {
	v := loadVectors(b)[0]
	sig := make([]byte, 0, JSSDKSize)
	b.ReportAllocs()
	for b.Loop() {
		sig = AppendJSSDK(sig[:0], v.Ticket, v.Nonce, v.Timestamp, v.URL)
	}
	benchSink = sig
}
