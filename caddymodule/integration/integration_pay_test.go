package integration_test

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The test-only key pair (testdata/keys).
var (
	payKeyFile = repoPath("testdata/keys/apiclient_key.pem")
	payPubFile = repoPath("testdata/keys/apiclient_pub.pem")
)

const (
	payPrepayID   = "wx201410272009395522657a690389285100"
	payAPIKeyEnv  = "JSSDK_TEST_PAY_API_KEY"
	payAPIKey     = "leakcanarypaykey0123456789abcdef" // 32 characters, like a real APIv2 key
	payBigOrderID = "9007199254740993123"              // beyond float64's exact integers
)

// payOrder is what the order upstream answers: a 64-bit integer, a nested
// prepay_id that is not the one to sign, and the top-level one.
const payOrder = `{"order_id": ` + payBigOrderID + `, "detail": {"prepay_id": "nested"}, "prepay_id": "` + payPrepayID + `"}`

// payUpstream answers by the last path element, the way an order backend
// and its neighbours would.
type payUpstream struct {
	mu             sync.Mutex
	acceptEncoding []string
}

func (u *payUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.acceptEncoding = append(u.acceptEncoding, r.Header.Get("Accept-Encoding"))
	u.mu.Unlock()
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Upstream", "orders")
	status, body := http.StatusOK, payOrder
	switch path.Base(r.URL.Path) {
	case "order":
		h.Set("Etag", `"order-1"`)
		h.Set("Accept-Ranges", "bytes")
	case "created":
		status = http.StatusCreated
		h.Set("Content-Type", "application/vnd.shop.order+json")
	case "pretty":
		body = "{\n  \"order_id\": " + payBigOrderID + ",\n  \"prepay_id\": \"" + payPrepayID + "\"\n}\n"
	case "text":
		h.Set("Content-Type", "text/plain")
	case "notfound":
		status = http.StatusNotFound
	case "error":
		status = http.StatusBadGateway
	case "gzip":
		h.Set("Content-Encoding", "gzip")
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		io.WriteString(zw, payOrder)
		zw.Close()
		body = b.String()
	case "nofield":
		body = `{"order_id": ` + payBigOrderID + `, "status": "paid"}`
	case "array":
		body = `[` + payOrder + `]`
	case "exists":
		body = `{"prepay_id": "` + payPrepayID + `", "wechat_pay": {"appId": "from the backend"}}`
	case "malformed":
		body = `{"prepay_id": "` + payPrepayID + `",}`
	case "badid":
		body = `{"prepay_id": "not a prepay id"}`
	case "big":
		body = `{"pad": "` + strings.Repeat("x", 2048) + `", "prepay_id": "` + payPrepayID + `"}`
	case "chunked":
		// no Content-Length, written in pieces with flushes, as a streaming
		// backend would
		w.WriteHeader(status)
		for i := 0; i < len(body); i += 16 {
			io.WriteString(w, body[i:min(i+16, len(body))])
			http.NewResponseController(w).Flush()
		}
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}

func (u *payUpstream) seenAcceptEncodings() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.acceptEncoding...)
}

// paySite puts wechat_pay in front of reverse_proxy to upstream: /v3/* signs
// with the RSA key, /v2/* with the API key (HMAC-SHA256), /small/* with the
// RSA key and a 256-byte max_body. encode sits outside, as the directive
// order puts it.
func paySite(upstream string) string {
	host := strings.TrimPrefix(upstream, "http://")
	return `
http://` + siteAddr + ` {
	encode gzip
	handle /v3/* {
		wechat_pay {
			app_id      ` + testAppID + `
			private_key ` + payKeyFile + `
		}
		reverse_proxy ` + host + `
	}
	handle /v2/* {
		wechat_pay {
			app_id    ` + testAppID + `
			api_key   {env.` + payAPIKeyEnv + `}
			sign_type HMAC-SHA256
		}
		reverse_proxy ` + host + `
	}
	handle /small/* {
		wechat_pay {
			app_id      ` + testAppID + `
			private_key ` + payKeyFile + `
			max_body    256B
		}
		reverse_proxy ` + host + `
	}
}
`
}

// payParams are the chooseWXPay parameters the handler adds.
type payParams struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

// signedParams checks that body is original with exactly one member added
// before the final brace and returns that member's parameters.
func signedParams(t *testing.T, original, body string) payParams {
	t.Helper()
	at := 0
	for at < len(original) && at < len(body) && original[at] == body[at] {
		at++
	}
	extra := len(body) - len(original)
	if extra <= 0 || body[at+extra:] != original[at:] || strings.TrimSpace(original[at:])[0] != '}' {
		t.Fatalf("body is not the upstream's with one member added:\nupstream %s\nclient   %s", original, body)
	}
	member, ok := strings.CutPrefix(body[at:at+extra], `,"wechat_pay":`)
	if !ok {
		t.Fatalf("added %q, want a wechat_pay member", body[at:at+extra])
	}
	dec := json.NewDecoder(strings.NewReader(member))
	dec.DisallowUnknownFields()
	var p payParams
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("added member %s: %v", member, err)
	}
	if p.AppID != testAppID || p.Package != "prepay_id="+payPrepayID || len(p.NonceStr) != 16 {
		t.Errorf("parameters %+v", p)
	}
	if _, err := strconv.ParseInt(p.TimeStamp, 10, 64); err != nil || len(p.TimeStamp) != 10 {
		t.Errorf("timeStamp %q is not Unix seconds", p.TimeStamp)
	}
	return p
}

func payPublicKey(t *testing.T) *rsa.PublicKey {
	t.Helper()
	data, err := os.ReadFile(payPubFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s holds no PEM block", payPubFile)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub.(*rsa.PublicKey)
}

// verifyPayV3 checks paySign with crypto/rsa against the public key.
func verifyPayV3(t *testing.T, p payParams) {
	t.Helper()
	if p.SignType != "RSA" {
		t.Errorf("signType %q, want RSA", p.SignType)
	}
	sig, err := base64.StdEncoding.DecodeString(p.PaySign)
	if err != nil {
		t.Fatalf("paySign %q is not base64: %v", p.PaySign, err)
	}
	digest := sha256.Sum256([]byte(p.AppID + "\n" + p.TimeStamp + "\n" + p.NonceStr + "\n" + p.Package + "\n"))
	if err := rsa.VerifyPKCS1v15(payPublicKey(t), crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("paySign does not verify against the public key: %v", err)
	}
}

// verifyPayV2 recomputes the HMAC-SHA256 paySign.
func verifyPayV2(t *testing.T, p payParams) {
	t.Helper()
	if p.SignType != "HMAC-SHA256" {
		t.Errorf("signType %q, want HMAC-SHA256", p.SignType)
	}
	m := hmac.New(sha256.New, []byte(payAPIKey))
	io.WriteString(m, "appId="+p.AppID+"&nonceStr="+p.NonceStr+"&package="+p.Package+
		"&signType="+p.SignType+"&timeStamp="+p.TimeStamp+"&key="+payAPIKey)
	if want := strings.ToUpper(hex.EncodeToString(m.Sum(nil))); p.PaySign != want {
		t.Errorf("paySign %s, want %s", p.PaySign, want)
	}
}

func TestPaySignsOrderResponses(t *testing.T) {
	t.Setenv(payAPIKeyEnv, payAPIKey)
	up := &payUpstream{}
	backend := httptest.NewServer(up)
	defer backend.Close()
	startCaddy(t, globalOptions("")+paySite(backend.URL))

	for _, tc := range []struct {
		target   string
		upstream string // the body the upstream sends
		status   int
		verify   func(*testing.T, payParams)
	}{
		{"/v3/order", payOrder, http.StatusOK, verifyPayV3},
		{"/v3/created", payOrder, http.StatusCreated, verifyPayV3},
		{"/v3/pretty", "{\n  \"order_id\": " + payBigOrderID + ",\n  \"prepay_id\": \"" + payPrepayID + "\"\n}\n", http.StatusOK, verifyPayV3},
		{"/v3/chunked", payOrder, http.StatusOK, verifyPayV3},
		{"/v2/order", payOrder, http.StatusOK, verifyPayV2},
	} {
		t.Run(tc.target, func(t *testing.T) {
			resp, body := get(t, http.MethodPost, siteURL+tc.target)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			tc.verify(t, signedParams(t, tc.upstream, body))
			if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %q for a %d-byte body", cl, len(body))
			}
			if resp.Header.Get("Accept-Ranges") != "" {
				t.Error("Accept-Ranges kept on a changed body")
			}
			if et := resp.Header.Get("Etag"); et != "" && et != `W/"order-1"` {
				t.Errorf("ETag %q, want the weak W/\"order-1\"", et)
			}
			if resp.Header.Get("X-Upstream") != "orders" {
				t.Error("an unrelated upstream header was lost")
			}
			// the 64-bit integer keeps its exact value
			var order struct {
				OrderID json.Number `json:"order_id"`
			}
			dec := json.NewDecoder(strings.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(&order); err != nil || order.OrderID != payBigOrderID {
				t.Errorf("order_id %q (%v), want %s", order.OrderID, err, payBigOrderID)
			}
		})
	}

	t.Run("gzip client", func(t *testing.T) {
		resp, body := get(t, http.MethodPost, siteURL+"/v3/order", "Accept-Encoding", "gzip")
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("encode did not compress the signed response: %v", resp.Header)
		}
		zr, err := gzip.NewReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		verifyPayV3(t, signedParams(t, payOrder, string(plain)))
	})

	for _, ae := range up.seenAcceptEncodings() {
		if ae != "identity" {
			t.Errorf("upstream was asked for Accept-Encoding %q, want identity", ae)
		}
	}
}

// TestPayPassesThroughUntouched: every response that is not a signable order
// reaches the client exactly as the upstream sent it.
func TestPayPassesThroughUntouched(t *testing.T) {
	t.Setenv(payAPIKeyEnv, payAPIKey)
	backend := httptest.NewServer(&payUpstream{})
	defer backend.Close()
	startCaddy(t, globalOptions("")+paySite(backend.URL))

	for _, tc := range []struct{ method, target string }{
		{http.MethodPost, "/v3/text"},
		{http.MethodPost, "/v3/notfound"},
		{http.MethodPost, "/v3/error"},
		{http.MethodPost, "/v3/gzip"},
		{http.MethodPost, "/v3/nofield"},
		{http.MethodPost, "/v3/array"},
		{http.MethodPost, "/v3/exists"},
		{http.MethodPost, "/v3/malformed"},
		{http.MethodPost, "/v3/badid"},
		{http.MethodHead, "/v3/order"},
		{http.MethodPost, "/small/big"},
		{http.MethodGet, "/small/big"},
		{http.MethodPost, "/v2/exists"},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			direct, want := get(t, tc.method, backend.URL+tc.target)
			resp, body := get(t, tc.method, siteURL+tc.target)
			if resp.StatusCode != direct.StatusCode {
				t.Errorf("status %d, upstream sent %d", resp.StatusCode, direct.StatusCode)
			}
			if body != want {
				t.Errorf("body changed:\nupstream %q\nclient   %q", want, body)
			}
			for _, k := range []string{"Content-Type", "Content-Length", "Content-Encoding", "Etag", "Accept-Ranges", "X-Upstream"} {
				if got, sent := resp.Header.Get(k), direct.Header.Get(k); got != sent {
					t.Errorf("%s: %q, upstream sent %q", k, got, sent)
				}
			}
		})
	}
	if _, body := get(t, http.MethodPost, siteURL+"/small/order"); !strings.Contains(body, `"wechat_pay":`) {
		t.Errorf("/small/ does not sign a body within max_body: the over-the-cap case proves nothing")
	}
}

// TestPayKeysNeverLeak: at DEBUG, with pass-throughs that log, neither the
// API key nor the private key appears in the logs, the responses or the
// admin API.
func TestPayKeysNeverLeak(t *testing.T) {
	t.Setenv(payAPIKeyEnv, payAPIKey)
	backend := httptest.NewServer(&payUpstream{})
	defer backend.Close()
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	logBlock := "log {\n\t\toutput file " + logFile + "\n\t\tlevel DEBUG\n\t}"
	site := strings.Replace(paySite(backend.URL), "\tencode gzip\n", "\tencode gzip\n\t"+logBlock+"\n", 1)
	startCaddy(t, globalOptions(logBlock)+site)

	var responses strings.Builder
	for _, target := range []string{"/v2/order", "/v3/order", "/v2/malformed", "/v3/exists", "/small/big", "/v2/badid"} {
		resp, body := get(t, http.MethodPost, siteURL+target)
		responses.WriteString(body)
		for k, v := range resp.Header {
			responses.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
	}
	admin, err := http.Get("http://localhost:2999/config/")
	if err != nil {
		t.Fatal(err)
	}
	config, _ := io.ReadAll(admin.Body)
	admin.Body.Close()
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"not valid JSON", "already has the output field", "larger than max_body"} {
		if !bytes.Contains(logs, []byte(want)) {
			t.Errorf("the logs lack %q: the check below would prove less than it claims", want)
		}
	}
	if !strings.Contains(responses.String(), `"paySign"`) {
		t.Error("nothing was signed: the success path was not exercised")
	}

	needles := []string{payAPIKey}
	keyPEM, err := os.ReadFile(payKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(keyPEM)) {
		if l := strings.TrimSpace(line); len(l) >= 24 && !strings.HasPrefix(l, "-----") {
			needles = append(needles, l[:24])
		}
	}
	block, _ := pem.Decode(keyPEM)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := key.(*rsa.PrivateKey)
	for _, n := range []*big.Int{rsaKey.D, rsaKey.Primes[0], rsaKey.Primes[1]} {
		needles = append(needles, n.String()[:24], n.Text(16)[:24], base64.StdEncoding.EncodeToString(n.Bytes())[:24])
	}
	for name, hay := range map[string]string{"logs": string(logs), "responses": responses.String(), "admin /config/": string(config)} {
		for _, needle := range needles {
			if strings.Contains(hay, needle) {
				t.Errorf("%s contain key material (%.8s…)", name, needle)
			}
		}
	}
}

// TestPayValidateNamesDirectiveAndOption: what `caddy validate` says about a
// bad wechat_pay block, a bad key included, without quoting the key.
func TestPayValidateNamesDirectiveAndOption(t *testing.T) {
	t.Setenv("JSSDK_TEST_EMPTY", "")
	site := func(opts string) string {
		return "{\n\tadmin off\n}\nhttp://localhost:9099 {\n\twechat_pay {\n" + opts + "\n\t}\n\trespond ok\n}\n"
	}
	keyPEM, err := os.ReadFile(payKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr3t-api-key-value"
	app := "app_id " + testAppID + "\n"
	for _, tc := range []struct {
		name, opts string
		want       []string
	}{
		{"missing app_id", "private_key " + payKeyFile, []string{"wechat_pay", "app_id", "required"}},
		{"no key", app, []string{"wechat_pay", "private_key", "api_key", "required"}},
		{"both keys", app + "private_key " + payKeyFile + "\napi_key " + secret, []string{"wechat_pay", "private_key", "api_key"}},
		{"RSA with api_key", app + "api_key " + secret + "\nsign_type RSA", []string{"wechat_pay", "sign_type"}},
		{"MD5 with private_key", app + "private_key " + payKeyFile + "\nsign_type MD5", []string{"wechat_pay", "sign_type"}},
		{"missing key file", app + "private_key " + repoPath("testdata/keys/missing.pem"), []string{"wechat_pay", "private_key", "missing.pem"}},
		{"EC key", app + "private_key " + repoPath("testdata/keys/ec_p256_pkcs8.pem"), []string{"wechat_pay", "private_key", "not RSA"}},
		{"1024-bit key", app + "private_key " + repoPath("testdata/keys/rsa1024_pkcs8.pem"), []string{"wechat_pay", "private_key", "1024"}},
		{"public key", app + "private_key " + payPubFile, []string{"wechat_pay", "private_key"}},
		{"empty api_key", app + "api_key {env.JSSDK_TEST_EMPTY}", []string{"wechat_pay", "api_key"}},
		{"bad max_body", app + "private_key " + payKeyFile + "\nmax_body huge", []string{"wechat_pay", "max_body"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(site(tc.opts))
			if err == nil {
				t.Fatalf("config validated:\n%s", site(tc.opts))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the API key", err)
			}
			for line := range strings.Lines(string(keyPEM)) {
				if l := strings.TrimSpace(line); !strings.HasPrefix(l, "-----") && strings.Contains(err.Error(), l[:16]) {
					t.Errorf("error %q quotes the private key", err)
				}
			}
		})
	}
	if err := validate(site(app + "private_key " + payKeyFile)); err != nil {
		t.Errorf("a good config fails: %v", err)
	}
}
