package sign

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recorder is a hash.Hash that keeps what is written, to see the exact
// message a hasher is fed.
type recorder struct{ bytes.Buffer }

func (r *recorder) Sum(b []byte) []byte { return append(b, r.Bytes()...) }
func (r *recorder) Size() int           { return 0 }
func (r *recorder) BlockSize() int      { return 1 }

func recordMessage(f func(h *v3Hasher)) string {
	rec := &recorder{}
	f(&v3Hasher{h: rec})
	return rec.String()
}

// requestCases are merchant API calls: a JSON POST, a GET with a query and
// no body, a body with newlines, and a URL longer than the hasher's buffer.
var requestCases = []struct {
	name, method, url string
	body              []byte
}{
	{"jsapi order", "POST", "/v3/pay/transactions/jsapi", []byte(`{"appid":"wxd678efh567hg6787","mchid":"1230000109","description":"Image形象店-深圳腾大-QQ公仔","out_trade_no":"1217752501201407033233368018","notify_url":"https://www.weixin.qq.com/wxpay/pay.php","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}`)},
	{"query, no body", "GET", "/v3/pay/transactions/out-trade-no/1217752501201407033233368018?mchid=1230000109", nil},
	{"certificates", "GET", "/v3/certificates", []byte{}},
	{"body with newlines", "POST", "/v3/refund/domestic/refunds", []byte("{\n  \"out_refund_no\": \"R1\"\n}\n")},
	{"long URL", "GET", "/v3/x?" + strings.Repeat("a=b&", 400), nil},
}

// TestRequestMessage compares the bytes the signer hashes with the message
// built by hand from WeChat Pay's rule.
func TestRequestMessage(t *testing.T) {
	for _, c := range requestCases {
		t.Run(c.name, func(t *testing.T) {
			const ts, nonce = 1554208460, "593BEC0C930BF1AFEB40B4A08C8FB242"
			got := recordMessage(func(h *v3Hasher) { hashRequest(h, c.method, c.url, ts, []byte(nonce), c.body) })
			want := c.method + "\n" + c.url + "\n" + "1554208460" + "\n" + nonce + "\n" + string(c.body) + "\n"
			if got != want {
				t.Errorf("message\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestAnswerMessage(t *testing.T) {
	for _, body := range []string{"", "{}", `{"code":"SIGN_ERROR"}` + "\n", strings.Repeat("x", 3000)} {
		got := recordMessage(func(h *v3Hasher) { hashAnswer(h, "1554209980", "c5ac7061fccab6bf3e254dcf98995b8c", []byte(body)) })
		if want := "1554209980\nc5ac7061fccab6bf3e254dcf98995b8c\n" + body + "\n"; got != want {
			t.Errorf("message %q, want %q", got, want)
		}
	}
}

func testSigner(t testing.TB) *RequestSigner {
	t.Helper()
	s, err := NewRequestSigner(testMchID, testMchSerial, testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestAuthorizationExact checks the whole header for a known timestamp and
// nonce against one built by hand (PKCS#1 v1.5 is deterministic).
func TestAuthorizationExact(t *testing.T) {
	key, s := testKey(t), testSigner(t)
	for _, c := range requestCases {
		t.Run(c.name, func(t *testing.T) {
			const nonce = "593BEC0C930BF1AFEB40B4A08C8FB242"
			got, err := s.AppendAuthorizationAt([]byte("prefix:"), c.method, c.url, c.body, 1554208460, nonce)
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256([]byte(c.method + "\n" + c.url + "\n1554208460\n" + nonce + "\n" + string(c.body) + "\n"))
			sig, _ := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
			want := `prefix:WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",timestamp="1554208460",serial_no="` +
				testMchSerial + `",signature="` + base64.StdEncoding.EncodeToString(sig) + `"`
			if string(got) != want {
				t.Errorf("header\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestAuthorizationOpenSSL has openssl verify what AppendAuthorization
// signs, over a message written by hand, with the merchant's public key;
// and refuse it over a message one byte off, so the check can fail.
func TestAuthorizationOpenSSL(t *testing.T) {
	openssl := needOpenSSL(t)
	s, dir := testSigner(t), t.TempDir()
	pub := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(pub, readKeyFile(t, "apiclient_pub.pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func(msg string, sig []byte) (string, error) {
		msgFile, sigFile := filepath.Join(dir, "msg.txt"), filepath.Join(dir, "sig.bin")
		if err := os.WriteFile(msgFile, []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(sigFile, sig, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", pub, "-signature", sigFile, msgFile).CombinedOutput()
		return string(out), err
	}
	for _, c := range requestCases {
		t.Run(c.name, func(t *testing.T) {
			before := time.Now().Unix()
			header, err := s.Authorization(c.method, c.url, c.body)
			if err != nil {
				t.Fatal(err)
			}
			a, err := ParseAuthorization(header)
			if err != nil {
				t.Fatalf("ParseAuthorization(%q): %v", header, err)
			}
			ts, _ := strconv.ParseInt(a.Timestamp, 10, 64)
			if a.MchID != testMchID || a.SerialNo != testMchSerial || ts < before || ts > time.Now().Unix() {
				t.Errorf("header %q: mchid, serial_no or timestamp wrong", header)
			}
			if len(a.NonceStr) != RequestNonceSize || strings.Trim(a.NonceStr, nonceAlphabet) != "" {
				t.Errorf("nonce_str %q is not %d characters of [A-Za-z0-9]", a.NonceStr, RequestNonceSize)
			}
			sig, err := base64.StdEncoding.DecodeString(a.Signature)
			if err != nil {
				t.Fatal(err)
			}
			msg := c.method + "\n" + c.url + "\n" + a.Timestamp + "\n" + a.NonceStr + "\n" + string(c.body) + "\n"
			if out, err := verify(msg, sig); err != nil || !strings.Contains(out, "Verified OK") {
				t.Errorf("openssl does not verify the signature: %v: %s", err, out)
			}
			tampered := c.method + "\n" + c.url + "\n" + a.Timestamp + "\n" + a.NonceStr + "\n" + string(c.body) + " \n"
			if out, err := verify(tampered, sig); err == nil || !strings.Contains(out, "Verification failure") {
				t.Errorf("openssl verifies the signature over a tampered message: %v: %s", err, out)
			}
		})
	}
}

func TestAuthorizationNonces(t *testing.T) {
	s := testSigner(t)
	seen := map[string]bool{}
	for range 50 {
		h, err := s.Authorization("GET", "/v3/certificates", nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ParseAuthorization(h)
		if err != nil {
			t.Fatal(err)
		}
		if seen[a.NonceStr] {
			t.Fatalf("nonce %q drawn twice", a.NonceStr)
		}
		seen[a.NonceStr] = true
	}
}

func TestNewRequestSigner(t *testing.T) {
	key := testKey(t)
	block, _ := pem.Decode(readKeyFile(t, "rsa1024_pkcs8.pem"))
	short, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, mchID, serial string
		key                 *rsa.PrivateKey
		want                string
	}{
		{"no key", testMchID, testMchSerial, nil, "no private key"},
		{"1024 bits", testMchID, testMchSerial, short.(*rsa.PrivateKey), "1024 bits"},
		{"empty mchid", "", testMchSerial, key, "mchid"},
		{"quote in mchid", `19"00`, testMchSerial, key, "mchid"},
		{"space in mchid", "1900 0001", testMchSerial, key, "mchid"},
		{"33-byte mchid", strings.Repeat("1", 33), testMchSerial, key, "mchid"},
		{"empty serial", testMchID, "", key, "serial_no"},
		{"serial not hex", testMchID, "5157F09EFDC096DE15EBE81A47057A7232F1B8EG", key, "serial_no"},
		{"serial with colons", testMchID, "51:57:F0", key, "serial_no"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewRequestSigner(tc.mchID, tc.serial, tc.key)
			if err == nil || s != nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewRequestSigner = %v, %v; want an error containing %q", s, err, tc.want)
			}
		})
	}
	s, err := NewRequestSigner(testMchID, strings.ToLower(testMchSerial), key)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := s.AppendAuthorizationAt(nil, "GET", "/v3/certificates", nil, 1, "n")
	if !strings.Contains(string(h), `serial_no="`+testMchSerial+`"`) {
		t.Errorf("a lower-case serial_no is not upper-cased: %s", h)
	}
}

func TestAuthorizationRefusesBadRequests(t *testing.T) {
	s := testSigner(t)
	if _, err := s.AppendAuthorizationAt(nil, "GET", "/v3/x", nil, -1, "n"); !errors.Is(err, ErrRequest) {
		t.Errorf("a negative timestamp: err = %v, want ErrRequest", err)
	}
	for _, tc := range []struct{ name, method, url, nonce string }{
		{"lower-case method", "post", "/v3/x", "n"},
		{"empty method", "", "/v3/x", "n"},
		{"newline in method", "POST\n", "/v3/x", "n"},
		{"empty URL", "GET", "", "n"},
		{"absolute URL", "GET", "https://api.mch.weixin.qq.com/v3/certificates", "n"},
		{"space in URL", "GET", "/v3/x y", "n"},
		{"newline in URL", "GET", "/v3/x\nGET", "n"},
		{"non-ASCII URL", "GET", "/v3/支付", "n"},
		{"quote in nonce", "GET", "/v3/x", `a"b`},
		{"empty nonce", "GET", "/v3/x", ""},
		{"33-character nonce", "GET", "/v3/x", strings.Repeat("n", 33)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("kept")
			got, err := s.AppendAuthorizationAt(dst, tc.method, tc.url, nil, 1, tc.nonce)
			if !errors.Is(err, ErrRequest) {
				t.Errorf("err = %v, want ErrRequest", err)
			}
			if string(got) != "kept" {
				t.Errorf("dst changed to %q on error", got)
			}
		})
	}
}
