package sign

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

// benchBody is a 1 KB order body, the size of a typical merchant API call.
func benchBody(b *testing.B) []byte {
	body := notificationBody(b, seal(b, testAPIv3Key, "fdasflkja484", "transaction", []byte(testTransaction)))
	if len(body) < 900 || len(body) > 1300 {
		b.Fatalf("the benchmark body has %d bytes, not about 1 KB", len(body))
	}
	return body
}

// BenchmarkV3RequestSign is what one outgoing merchant API call costs: a
// nonce, the message's hash, the RSA signature and the header, appended to
// a buffer the caller reuses.
func BenchmarkV3RequestSign(b *testing.B) {
	s, body := testSigner(b), benchBody(b)
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = s.AppendAuthorization(buf[:0], "POST", "/v3/pay/transactions/jsapi", body); err != nil {
			b.Fatal(err)
		}
	}
	benchSink = buf
}

// BenchmarkV3RSASign is the floor BenchmarkV3RequestSign is measured
// against: crypto/rsa alone, on a ready digest.
func BenchmarkV3RSASign(b *testing.B) {
	key := testKey(b)
	digest := sha256.Sum256(benchBody(b))
	b.ReportAllocs()
	for b.Loop() {
		sig, _ := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
		benchSink = sig
	}
}

// BenchmarkV3Verify checks one answer's signature.
func BenchmarkV3Verify(b *testing.B) {
	v, body := testVerifier(b), benchBody(b)
	h := signedHeaders(b, body)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(h, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkV3RSAVerify is BenchmarkV3Verify's floor: crypto/rsa alone.
func BenchmarkV3RSAVerify(b *testing.B) {
	body := benchBody(b)
	h := signedHeaders(b, body)
	pub := loadPublic(b, "wechatpay_platform_cert.pem")
	digest := sha256.Sum256([]byte(h.Timestamp + "\n" + h.Nonce + "\n" + string(body) + "\n"))
	sig, _ := base64.StdEncoding.DecodeString(h.Signature)
	b.ReportAllocs()
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkV3Notification is the notify handler's work for one ~1 KB
// notification: verify, parse, decrypt into a reused buffer.
func BenchmarkV3Notification(b *testing.B) {
	v, key, body := testVerifier(b), mustAPIv3Key(b, testAPIv3Key), benchBody(b)
	h := signedHeaders(b, body)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Verify(h, body); err != nil {
			b.Fatal(err)
		}
		n, err := ParseNotification(body)
		if err != nil {
			b.Fatal(err)
		}
		if buf, err = key.Decrypt(buf[:0], &n.Resource); err != nil {
			b.Fatal(err)
		}
	}
	benchSink = buf
}

// BenchmarkV3ParseNotification is the JSON part of BenchmarkV3Notification.
func BenchmarkV3ParseNotification(b *testing.B) {
	body := benchBody(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseNotification(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkV3Decrypt is the AES-GCM part of BenchmarkV3Notification.
func BenchmarkV3Decrypt(b *testing.B) {
	key := mustAPIv3Key(b, testAPIv3Key)
	r := seal(b, testAPIv3Key, "fdasflkja484", "transaction", []byte(testTransaction))
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = key.Decrypt(buf[:0], &r); err != nil {
			b.Fatal(err)
		}
	}
	benchSink = buf
}

func BenchmarkV3ParseAuthorization(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAuthorization(goodAuth); err != nil {
			b.Fatal(err)
		}
	}
}
