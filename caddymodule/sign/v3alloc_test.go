//go:build !race

// Allocation counts hold in normal builds only: the race detector's
// instrumentation moves buffers to the heap.

package sign

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

// TestV3Allocations pins the hot paths' promise: signing and verifying add
// no allocation to what crypto/rsa makes, and parsing a header and
// decrypting into a reused buffer make none.
func TestV3Allocations(t *testing.T) {
	body := notificationBody(t, seal(t, testAPIv3Key, "fdasflkja484", "transaction", []byte(testTransaction)))
	key, s, v := testKey(t), testSigner(t), testVerifier(t)
	h := signedHeaders(t, body)
	pub := loadPublic(t, "wechatpay_platform_cert.pem")
	digest := sha256.Sum256([]byte(h.Timestamp + "\n" + h.Nonce + "\n" + string(body) + "\n"))
	sig, _ := base64.StdEncoding.DecodeString(h.Signature)
	apiKey := mustAPIv3Key(t, testAPIv3Key)
	r := seal(t, testAPIv3Key, "fdasflkja484", "transaction", []byte(testTransaction))
	buf := make([]byte, 0, 4096)

	rsaSign := testing.AllocsPerRun(20, func() { _, _ = rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]) })
	sign := testing.AllocsPerRun(20, func() { buf, _ = s.AppendAuthorization(buf[:0], "POST", "/v3/pay/transactions/jsapi", body) })
	if sign > rsaSign {
		t.Errorf("AppendAuthorization allocates %v times, crypto/rsa alone %v", sign, rsaSign)
	}
	rsaVerify := testing.AllocsPerRun(50, func() { _ = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) })
	verify := testing.AllocsPerRun(50, func() {
		if err := v.Verify(h, body); err != nil {
			t.Fatal(err)
		}
	})
	if verify > rsaVerify {
		t.Errorf("Verify allocates %v times, crypto/rsa alone %v", verify, rsaVerify)
	}
	for name, f := range map[string]func(){
		"ParseAuthorization":     func() { _, _ = ParseAuthorization(goodAuth) },
		"Decrypt":                func() { buf, _ = apiKey.Decrypt(buf[:0], &r) },
		"Verify, missing header": func() { _ = v.Verify(SignedHeaders{}, body) },
		"Verify, unknown serial": func() {
			hh := h
			hh.Serial = "ABCDEF"
			_ = v.Verify(hh, body)
		},
	} {
		if n := testing.AllocsPerRun(50, f); n != 0 {
			t.Errorf("%s allocates %v times, want 0", name, n)
		}
	}
}
