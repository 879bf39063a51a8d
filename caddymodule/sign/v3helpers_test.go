package sign

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Test fixtures for WeChat Pay v3. The keys are in testdata/keys (see its
// README); the platform keys stand in for WeChat Pay's, whose private
// halves only WeChat has in real life.
const (
	testMchID       = "1900000001"
	testMchSerial   = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1" // the merchant API certificate's (made up)
	platformSerial  = "4DD1D11017F309D28AD6CB59FA4F29411A31C830" // wechatpay_platform_cert.pem's
	testPublicKeyID = "PUB_KEY_ID_0114232134912410000000000000"
	testAPIv3Key    = "a7Kq9ZpX2mR4tW8yB3nC6vF1hJ5dL0sG" // 32 bytes
	otherAPIv3Key   = "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp"
	testNow         = 1767242096 // 2026-01-01T04:34:56Z
)

// testTransaction is a decrypted TRANSACTION.SUCCESS resource of the usual
// size: its notification body is about 1 KB.
const testTransaction = `{"mchid":"1900000001","appid":"wx0123456789abcdef","out_trade_no":"20260101123456789","transaction_id":"4200001234202601011234567890","trade_type":"JSAPI","trade_state":"SUCCESS","trade_state_desc":"支付成功","bank_type":"OTHERS","attach":"order-note","success_time":"2026-01-01T12:34:56+08:00","payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},"amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"},"promotion_detail":[{"coupon_id":"109519","name":"单品惠-6","scope":"SINGLE","type":"DISCOUNT","amount":1,"stock_id":"931386","wechatpay_contribute":0,"merchant_contribute":0,"other_contribute":0,"currency":"CNY"}]}`

func fixedClock() time.Time { return time.Unix(testNow, 0) }

func loadPrivate(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	key, err := ParsePrivateKeyPEM(readKeyFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func loadPublic(t testing.TB, name string) *rsa.PublicKey {
	t.Helper()
	key, err := ParsePublicKeyPEM(readKeyFile(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// testVerifier knows the platform certificate and the public-mode key, and
// lives at testNow.
func testVerifier(t testing.TB) *Verifier {
	t.Helper()
	v := &Verifier{Now: fixedClock}
	if err := v.SetCertificates(map[string]*rsa.PublicKey{platformSerial: loadPublic(t, "wechatpay_platform_cert.pem")}); err != nil {
		t.Fatal(err)
	}
	if err := v.SetPublicKeys(map[string]*rsa.PublicKey{testPublicKeyID: loadPublic(t, "wechatpay_pub_key.pem")}); err != nil {
		t.Fatal(err)
	}
	return v
}

// wechatSign signs an answer as WeChat Pay would, with its own few lines:
// base64(SHA256withRSA(ts + "\n" + nonce + "\n" + body + "\n")).
func wechatSign(t testing.TB, key *rsa.PrivateKey, ts, nonce string, body []byte) string {
	t.Helper()
	digest := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// signedHeaders returns the headers WeChat Pay would send with body, signed
// with the platform certificate's key at testNow.
func signedHeaders(t testing.TB, body []byte) SignedHeaders {
	t.Helper()
	ts := strconv.Itoa(testNow)
	const nonce = "fdasfjihihihlkja484w"
	return SignedHeaders{
		Timestamp:     ts,
		Nonce:         nonce,
		Signature:     wechatSign(t, loadPrivate(t, "wechatpay_platform_key.pem"), ts, nonce, body),
		Serial:        platformSerial,
		SignatureType: AuthSchema,
	}
}

// seal encrypts plaintext as WeChat Pay does, independently of Decrypt:
// AES-256-GCM, IV the nonce's bytes, tag appended, base64.
func seal(t testing.TB, apiV3Key, nonce, aad string, plaintext []byte) EncryptedResource {
	t.Helper()
	block, err := aes.NewCipher([]byte(apiV3Key))
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(nonce))
	if err != nil {
		t.Fatal(err)
	}
	return EncryptedResource{
		OriginalType:   "transaction",
		Algorithm:      AlgorithmAES256GCM,
		Ciphertext:     base64.StdEncoding.EncodeToString(gcm.Seal(nil, []byte(nonce), plaintext, []byte(aad))),
		AssociatedData: aad,
		Nonce:          nonce,
	}
}

// notificationBody is a TRANSACTION.SUCCESS notification carrying r.
func notificationBody(t testing.TB, r EncryptedResource) []byte {
	t.Helper()
	body, err := json.Marshal(Notification{
		ID:           "EV-2018022511223320873",
		CreateTime:   "2026-01-01T12:34:56+08:00",
		EventType:    "TRANSACTION.SUCCESS",
		ResourceType: ResourceTypeEncrypted,
		Summary:      "支付成功",
		Resource:     r,
	})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func mustAPIv3Key(t testing.TB, key string) *APIv3Key {
	t.Helper()
	k, err := NewAPIv3Key(key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// needOpenSSL returns the openssl command, or skips the test when it is
// missing — and fails it instead when JSSDK_NO_SKIP is set, as CI does: a
// skipped check is not a passed one.
func needOpenSSL(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("JSSDK_NO_SKIP") != "" {
			t.Fatal("openssl is not installed and JSSDK_NO_SKIP is set: install openssl")
		}
		t.Skip("openssl is not installed")
	}
	return path
}
