package sandbox

import (
	"crypto"
	"crypto/md5"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"strings"
	"testing"
)

const testKeys = "../../testdata/keys/"

// signV3 signs like a merchant, with crypto/rsa directly.
func signV3(t *testing.T, appID, ts, nonce, pkg string) string {
	t.Helper()
	raw, err := os.ReadFile(testKeys + "apiclient_key.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(appID + "\n" + ts + "\n" + nonce + "\n" + pkg + "\n"))
	sig, err := rsa.SignPKCS1v15(nil, k.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// deadURL is a notify_url nobody answers (connection refused).
const deadURL = "http://127.0.0.1:1/notify"

// newOrder creates a v3 order on h, a sandbox made by newPayHandler.
func newOrder(t *testing.T, h *Handler, clk *fakeClock) string {
	t.Helper()
	return createOrder(t, h, clk, "T"+randomDigits(12), deadURL)
}

func payVerify(t *testing.T, h *Handler, req payRequest) (bool, string) {
	t.Helper()
	body, _ := json.Marshal(req)
	rec := serve(t, h, http.MethodPost, pathPayVerify, string(body))
	var r controlReply
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("verify answer %d %s", rec.Code, rec.Body)
	}
	return r.OK, r.ErrMsg
}

func TestPayV3(t *testing.T) {
	h, clk := newPayHandler(t, publicMode)
	id := newOrder(t, h, clk)
	req := payRequest{AppID: h.AppID, TimeStamp: "1700000000", NonceStr: "n0nce", Package: "prepay_id=" + id, SignType: "RSA"}
	req.PaySign = signV3(t, req.AppID, req.TimeStamp, req.NonceStr, req.Package)

	for _, tc := range []struct {
		name   string
		change func(*payRequest)
		want   string
	}{
		{"tampered nonce", func(r *payRequest) { r.NonceStr = "other" }, "invalid paySign"},
		{"tampered timestamp", func(r *payRequest) { r.TimeStamp = "1700000001" }, "invalid paySign"},
		{"other app", func(r *payRequest) { r.AppID = "wxother" }, "invalid appid"},
		{"not base64", func(r *payRequest) { r.PaySign = "%%%" }, "invalid paySign"},
		{"no api_key for MD5", func(r *payRequest) { r.SignType = "MD5" }, "no api_key configured for signType MD5"},
		{"unknown signType", func(r *payRequest) { r.SignType = "SHA1" }, "unknown signType"},
		{"bad package", func(r *payRequest) { r.Package = id }, "package must be prepay_id=…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := req
			tc.change(&bad)
			if ok, msg := payVerify(t, h, bad); ok || msg != tc.want {
				t.Errorf("ok=%v msg=%q, want %q", ok, msg, tc.want)
			}
		})
	}
	if ok, msg := payVerify(t, h, req); !ok {
		t.Fatalf("a correct v3 paySign is refused: %s", msg)
	}
	if ok, msg := payVerify(t, h, req); ok || msg != "order already paid" {
		t.Errorf("second payment: ok=%v %q", ok, msg)
	}
	unknown := req
	unknown.Package = "prepay_id=wx00000000000000000000000000000000"
	unknown.PaySign = signV3(t, unknown.AppID, unknown.TimeStamp, unknown.NonceStr, unknown.Package)
	if ok, msg := payVerify(t, h, unknown); ok || msg != "unknown prepay_id" {
		t.Errorf("unknown order: ok=%v %q", ok, msg)
	}
}

func TestPayV2(t *testing.T) {
	h, clk := newPayHandler(t, publicMode)
	h.apiKey = "192006250b4c09247ec02edce69f6a2d"
	for _, signType := range []string{"MD5", "HMAC-SHA256"} {
		id := newOrder(t, h, clk)
		req := payRequest{AppID: h.AppID, TimeStamp: "1700000000", NonceStr: "n0nce", Package: "prepay_id=" + id, SignType: signType}
		req.PaySign = legacyPaySign(req, h.apiKey)
		if ok, msg := payVerify(t, h, req); !ok {
			t.Errorf("%s: refused: %s", signType, msg)
		}
	}
	// the MD5 string by hand, so legacyPaySign is not only checked by itself
	req := payRequest{AppID: "wxA", TimeStamp: "1", NonceStr: "N", Package: "prepay_id=P", SignType: "MD5"}
	sum := md5.Sum([]byte("appId=wxA&nonceStr=N&package=prepay_id=P&signType=MD5&timeStamp=1&key=K"))
	if got, want := legacyPaySign(req, "K"), strings.ToUpper(hex.EncodeToString(sum[:])); got != want {
		t.Errorf("legacyPaySign = %s, want %s", got, want)
	}
}

func TestLoadPublicKey(t *testing.T) {
	if _, err := loadPublicKey(testKeys + "apiclient_pub.pem"); err != nil {
		t.Errorf("PKIX public key: %v", err)
	}
	for _, bad := range []string{"apiclient_key.pem", "ec_p256_pkcs8.pem", "missing.pem"} {
		if _, err := loadPublicKey(testKeys + bad); err == nil {
			t.Errorf("%s accepted as the merchant public key", bad)
		}
	}
}
