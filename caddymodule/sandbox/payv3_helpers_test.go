package sandbox

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The WeChat Pay v3 tests sign as a merchant, verify answers and
// notifications, and decrypt resources with their own few lines of the
// standard library: neither the sandbox's code nor the sign package's.

// The test merchant (testdata/keys/README.md).
const (
	testMchID          = "1900000001"
	testMerchantSerial = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1" // made up: no merchant certificate in testdata
	testPubKeyID       = "PUB_KEY_ID_0114232134912410000000000000"
	testCertSerial     = "4DD1D11017F309D28AD6CB59FA4F29411A31C830" // wechatpay_platform_cert.pem's
	testAPIv3Key       = "a7Kq9ZpX2mR4tW8yB3nC6vF1hJ5dL0sG"
	testOpenID         = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
)

// keyMode says which platform keys a test sandbox signs with.
type keyMode struct{ public, cert bool }

var (
	publicMode    = keyMode{public: true}
	certMode      = keyMode{cert: true}
	migrationMode = keyMode{public: true, cert: true}
)

// newPayHandler provisions a sandbox playing WeChat Pay v3 for the test
// merchant, with the fake clock.
func newPayHandler(t *testing.T, mode keyMode) (*Handler, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	h := &Handler{AppID: "wx-" + strings.ReplaceAll(t.Name(), "/", "-"), AppSecret: testSecret, now: clk.now,
		MerchantPublicKey: testKeys + "apiclient_pub.pem", MerchantSerial: testMerchantSerial, MchID: testMchID,
		APIv3Key: testAPIv3Key}
	if mode.public {
		h.WechatpayPrivateKey = &WechatpayKey{Path: testKeys + "wechatpay_pubkey_key.pem", ID: testPubKeyID}
	}
	if mode.cert {
		h.WechatpayCertificate = &WechatpayCertificate{Certificate: testKeys + "wechatpay_platform_cert.pem", Key: testKeys + "wechatpay_platform_key.pem"}
	}
	provision(t, h)
	return h, clk
}

// readPrivate parses one of the PKCS#8 test keys.
func readPrivate(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	raw, err := os.ReadFile(testKeys + name)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

// platformKeys are the keys a merchant verifies WeChat Pay with, by
// serial: pub_key.pem under the PUB_KEY_ID, the certificate's key under
// its serial.
func platformKeys(t testing.TB) map[string]*rsa.PublicKey {
	t.Helper()
	raw, err := os.ReadFile(testKeys + "wechatpay_pub_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile(testKeys + "wechatpay_platform_cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ = pem.Decode(raw)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*rsa.PublicKey{testPubKeyID: pub.(*rsa.PublicKey), testCertSerial: cert.PublicKey.(*rsa.PublicKey)}
}

// authorization is the merchant's Authorization header for a call signed
// at at with key (the merchant's, unless a test says otherwise).
func authorization(t testing.TB, key *rsa.PrivateKey, mchID, serial, method, target, body string, at time.Time) string {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	n := strings.ToUpper(hex.EncodeToString(nonce))
	sum := sha256.Sum256([]byte(method + "\n" + target + "\n" + ts + "\n" + n + "\n" + body + "\n"))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="%s",timestamp="%s",serial_no="%s",signature="%s"`,
		mchID, n, ts, serial, base64.StdEncoding.EncodeToString(sig))
}

// v3Call sends a merchant's signed call through h.
func v3Do(t *testing.T, h *Handler, clk *fakeClock, method, target, body string) *httptest.ResponseRecorder {
	t.Helper()
	auth := authorization(t, readPrivate(t, "apiclient_key.pem"), testMchID, testMerchantSerial, method, target, body, clk.now())
	return v3DoAuth(t, h, method, target, body, auth)
}

// v3DoAuth sends a call with the Authorization given ("" for none).
func v3DoAuth(t *testing.T, h *Handler, method, target, body, auth string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, req, nil); err != nil {
		t.Fatal(err)
	}
	return rec
}

// errSignTest is a WeChat Pay probe signature.
var errSignTest = errors.New("a WECHATPAY/SIGNTEST/ probe")

// verifyWechatpay checks the Wechatpay-* headers over body as a merchant
// does: the key the serial names, the signature type, a timestamp less
// than 5 minutes from now, no SIGNTEST probe. It returns the serial.
func verifyWechatpay(t testing.TB, hdr http.Header, body []byte, now time.Time) (string, error) {
	t.Helper()
	serial, ts, nonce, sig := hdr.Get("Wechatpay-Serial"), hdr.Get("Wechatpay-Timestamp"), hdr.Get("Wechatpay-Nonce"), hdr.Get("Wechatpay-Signature")
	if hdr.Get("Wechatpay-Signature-Type") != "WECHATPAY2-SHA256-RSA2048" {
		return serial, fmt.Errorf("Wechatpay-Signature-Type %q", hdr.Get("Wechatpay-Signature-Type"))
	}
	if strings.HasPrefix(sig, "WECHATPAY/SIGNTEST/") {
		return serial, errSignTest
	}
	key := platformKeys(t)[serial]
	if key == nil {
		return serial, fmt.Errorf("unknown serial %q", serial)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return serial, fmt.Errorf("timestamp %q", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d >= 5*time.Minute || d <= -5*time.Minute {
		return serial, fmt.Errorf("timestamp %s off", d)
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return serial, err
	}
	sum := sha256.Sum256([]byte(ts + "\n" + nonce + "\n" + string(body) + "\n"))
	return serial, rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], raw)
}

// mustVerify fails the test unless the answer's signature verifies.
func mustVerify(t *testing.T, rec *httptest.ResponseRecorder, now time.Time) string {
	t.Helper()
	serial, err := verifyWechatpay(t, rec.Header(), rec.Body.Bytes(), now)
	if err != nil {
		t.Fatalf("the answer's signature does not verify: %v\n%d %s", err, rec.Code, rec.Body)
	}
	return serial
}

// openResource decrypts an AEAD_AES_256_GCM resource with key.
func openResource(key string, ciphertext, nonce, aad string) ([]byte, error) {
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return nil, err
	}
	if len(nonce) != 12 {
		return nil, fmt.Errorf("nonce %q is not 12 characters", nonce)
	}
	return gcm.Open(nil, []byte(nonce), raw, []byte(aad))
}

// payErr decodes WeChat Pay's error answer.
func payErr(t *testing.T, rec *httptest.ResponseRecorder) payError {
	t.Helper()
	var e payError
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code == "" {
		t.Fatalf("not WeChat Pay's error JSON: %d %s", rec.Code, rec.Body)
	}
	return e
}

// orderBody is a valid order for h, with out_trade_no no and notify_url.
func orderBody(h *Handler, no, notifyURL string) string {
	return `{"appid":"` + h.AppID + `","mchid":"` + testMchID + `","description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":"` + no +
		`","notify_url":"` + notifyURL + `","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"` + testOpenID + `"}}`
}

// createOrder creates an order and returns its prepay id.
func createOrder(t *testing.T, h *Handler, clk *fakeClock, no, notifyURL string) string {
	t.Helper()
	rec := v3Do(t, h, clk, http.MethodPost, pathV3JSAPI, orderBody(h, no, notifyURL))
	var r struct {
		PrepayID string `json:"prepay_id"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &r) != nil || !strings.HasPrefix(r.PrepayID, "wx") {
		t.Fatalf("order: %d %s", rec.Code, rec.Body)
	}
	mustVerify(t, rec, clk.now())
	return r.PrepayID
}

// payPrepay pays prepay id through /sandbox/pay/verify with a v3 paySign.
func payPrepay(t *testing.T, h *Handler, id string) {
	t.Helper()
	req := payRequest{AppID: h.AppID, TimeStamp: "1700000000", NonceStr: "n0nce", Package: "prepay_id=" + id, SignType: "RSA"}
	req.PaySign = signV3(t, req.AppID, req.TimeStamp, req.NonceStr, req.Package)
	if ok, msg := payVerify(t, h, req); !ok {
		t.Fatalf("paying %s: %s", id, msg)
	}
}
