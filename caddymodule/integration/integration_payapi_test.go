package integration_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys/paykeystest"
)

// The WeChat Pay v3 tests put the real directives in the in-process Caddy
// in front of a fake WeChat Pay (paykeystest.Server, an httptest server
// that signs its answers with the test platform keys) and call them as a
// backend would. The APIv3 key reaches Caddy through the environment, as
// in production.
const (
	payV3APIv3Env = "JSSDK_TEST_APIV3_KEY"
	payV3Base     = siteURL + "/wechatpay"
)

// payV3Mode is which platform keys a test configures.
type payV3Mode struct{ public, certs bool }

var (
	publicMode    = payV3Mode{public: true}
	certMode      = payV3Mode{certs: true}
	migrationMode = payV3Mode{public: true, certs: true}
)

// startWeChatPay runs a fake WeChat Pay.
func startWeChatPay(t *testing.T) (*paykeystest.Server, string) {
	t.Helper()
	wx := paykeystest.NewServer(t)
	srv := httptest.NewServer(wx)
	t.Cleanup(srv.Close)
	return wx, srv.URL
}

// payAPISite is wechat_pay_api under handle_path /wechatpay/*, reachable
// from loopback only, before reverse_proxy to the fake WeChat Pay at wx.
func payAPISite(t *testing.T, wx string, mode payV3Mode, extra string) string {
	t.Helper()
	t.Setenv(payV3APIv3Env, paykeystest.APIv3Key)
	opts := "mch_id      " + paykeystest.MchID + "\n\t\t\tserial_no   " + paykeystest.MchSerial +
		"\n\t\t\tprivate_key " + paykeystest.KeyPath(t, paykeystest.MerchantKeyFile) + "\n\t\t\tapi_base    " + wx
	if mode.public {
		opts += "\n\t\t\twechatpay_public_key " + paykeystest.KeyPath(t, paykeystest.PublicModePubFile) + " " + paykeystest.PublicKeyID
	}
	if mode.certs {
		opts += "\n\t\t\tapiv3_key {env." + payV3APIv3Env + "}"
	}
	return `
http://` + siteAddr + ` {
	handle_path /wechatpay/* {
		@outsider not remote_ip 127.0.0.1 ::1
		respond @outsider 403
		wechat_pay_api {
			` + opts + `
			` + extra + `
		}
		reverse_proxy ` + wx + `
	}
}
`
}

// callPayAPI sends a backend's call through Caddy and returns the answer.
func callPayAPI(t *testing.T, method, path, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, payV3Base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// needOpenSSL returns the openssl command, or skips — failing instead
// under JSSDK_NO_SKIP, as in CI.
func needOpenSSL(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv(noSkipEnv) != "" {
			t.Fatalf("openssl is not installed and %s is set: install openssl", noSkipEnv)
		}
		t.Skip("openssl is not installed (Debian package openssl): the independent signature check cannot run")
	}
	return path
}

// opensslVerify has openssl check sig (base64) over msg with the PEM
// public key at pub.
func opensslVerify(t *testing.T, openssl, pub, msg, sig string) (string, bool) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return "signature is not base64", false
	}
	dir := t.TempDir()
	msgFile, sigFile := filepath.Join(dir, "msg"), filepath.Join(dir, "sig")
	if err := os.WriteFile(msgFile, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sigFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", pub, "-signature", sigFile, msgFile).CombinedOutput()
	return string(out), err == nil && strings.Contains(string(out), "Verified OK")
}

// checkSignedWithOpenSSL verifies what the fake WeChat Pay received with
// openssl and the merchant's public key, over the message written out by
// hand: METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n. A message one byte off must
// fail, so the check can fail.
func checkSignedWithOpenSSL(t *testing.T, openssl string, r paykeystest.Request) {
	t.Helper()
	params, ok := paykeystest.ParseAuthorization(r.Header.Get("Authorization"))
	if !ok {
		t.Fatalf("%s %s: Authorization %q is not WECHATPAY2-SHA256-RSA2048 with the five parameters", r.Method, r.URI, r.Header.Get("Authorization"))
	}
	if params["mchid"] != paykeystest.MchID || params["serial_no"] != paykeystest.MchSerial {
		t.Errorf("mchid %q serial_no %q", params["mchid"], params["serial_no"])
	}
	pub := paykeystest.KeyPath(t, paykeystest.MerchantPubFile)
	msg := r.Method + "\n" + r.URI + "\n" + params["timestamp"] + "\n" + params["nonce_str"] + "\n" + string(r.Body) + "\n"
	if out, ok := opensslVerify(t, openssl, pub, msg, params["signature"]); !ok {
		t.Errorf("%s %s: openssl does not verify the signature: %s", r.Method, r.URI, out)
	}
	if out, ok := opensslVerify(t, openssl, pub, msg+" ", params["signature"]); ok {
		t.Errorf("%s %s: openssl verifies a tampered message: %s", r.Method, r.URI, out)
	}
}

// TestPayAPISignsRequests: each call reaches WeChat Pay with the prefix
// stripped, signed over the request-target as WeChat Pay receives it and
// the exact body — which openssl, given the merchant's public key,
// verifies — and the client's own Authorization gone; the verified answer
// reaches the backend byte for byte.
func TestPayAPISignsRequests(t *testing.T) {
	openssl := needOpenSSL(t)
	wx, wxURL := startWeChatPay(t)
	startCaddy(t, globalOptions("")+payAPISite(t, wxURL, publicMode, ""))
	order := `{"appid":"wx0123456789abcdef","mchid":"1900000001","description":"Caddy 测试","out_trade_no":"T20260101","notify_url":"https://shop.example/wechatpay/notify","amount":{"total":1},"payer":{"openid":"oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"}}`
	calls := []struct{ method, path, body string }{
		{"POST", "/v3/pay/transactions/jsapi", order},
		{"GET", "/v3/pay/transactions/out-trade-no/T20260101?mchid=1900000001", ""},
		{"GET", "/v3/merchant/a%2Fb/%E4%B8%AD?q=%E4%B8%AD&sp=a+b", ""},
		{"POST", "/v3/refund/domestic/refunds", `{"out_trade_no":"T20260101","out_refund_no":"R1","amount":{"refund":1,"total":1,"currency":"CNY"}}`},
	}
	for _, c := range calls {
		resp, body := callPayAPI(t, c.method, c.path, c.body, "Authorization", "Bearer the-backends-own")
		if resp.StatusCode != 200 || body != string(wx.Body) {
			t.Fatalf("%s %s: %d %s", c.method, c.path, resp.StatusCode, body)
		}
		if resp.Header.Get("Wechatpay-Serial") != paykeystest.PublicKeyID {
			t.Errorf("the verified answer lost its headers: %v", resp.Header)
		}
	}
	reqs := wx.Requests()
	if len(reqs) != len(calls) {
		t.Fatalf("WeChat Pay got %d calls, want %d", len(reqs), len(calls))
	}
	for i, r := range reqs {
		if r.Method != calls[i].method || r.URI != calls[i].path || string(r.Body) != calls[i].body {
			t.Errorf("WeChat Pay got %s %s %q, want %s %s", r.Method, r.URI, r.Body, calls[i].method, calls[i].path)
		}
		if strings.Contains(strings.Join(r.Header.Values("Authorization"), ","), "Bearer") {
			t.Errorf("the backend's Authorization reached WeChat Pay")
		}
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept %q", r.Header.Get("Accept"))
		}
		checkSignedWithOpenSSL(t, openssl, r)
	}

	// refused before WeChat Pay: not a /v3/ path, too large a body
	for _, c := range []struct {
		path, body string
		status     int
	}{
		{"/v2/pay/orderquery", "", 400},
		{"/v3/pay/transactions/jsapi", strings.Repeat("x", 1<<20+1), 413},
	} {
		resp, body := callPayAPI(t, "POST", c.path, c.body)
		if resp.StatusCode != c.status || !strings.Contains(body, `"code"`) {
			t.Errorf("%s: %d %s, want %d", c.path, resp.StatusCode, body, c.status)
		}
	}
	if n := len(wx.Requests()); n != len(calls) {
		t.Errorf("a refused call reached WeChat Pay (%d calls)", n)
	}
}

// TestPayAPIAnswerFailsClosed: an answer with a tampered body, a tampered
// signature, an old timestamp, an unknown serial or a missing header
// becomes a 502 {"code":"SIGN_VERIFY_FAILED"}: not one byte of it, nor
// its headers, reaches the backend.
func TestPayAPIAnswerFailsClosed(t *testing.T) {
	wx, wxURL := startWeChatPay(t)
	startCaddy(t, globalOptions("")+payAPISite(t, wxURL, publicMode, ""))
	_, rogue := paykeystest.NewCert(t)
	pm := paykeystest.PublicModeSigner(t)
	const canary = `{"prepay_id":"wx-answer-canary-5f1d"}`
	for _, c := range []struct {
		name   string
		signer paykeystest.Signer
		skew   time.Duration
		mutate func(http.Header, *string)
		reason string
	}{
		{"tampered body", pm, 0, paykeystest.TamperBody, "does not verify"},
		{"tampered signature", pm, 0, paykeystest.TamperSignature, "does not verify"},
		{"old timestamp", pm, -5 * time.Minute, nil, "5 minutes"},
		{"future timestamp", pm, 6 * time.Minute, nil, "5 minutes"},
		{"unknown serial", rogue, 0, nil, "no key for Wechatpay-Serial"},
		{"missing header", pm, 0, paykeystest.DropSignature, "missing Wechatpay-* header"},
		{"signed error answer tampered", pm, 0, paykeystest.TamperBody, "does not verify"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status := 200
			if strings.HasPrefix(c.name, "signed error") {
				status = 400
			}
			wx.SetAnswer(paykeystest.SignedAnswer(c.signer, status, canary, c.skew, c.mutate))
			resp, body := callPayAPI(t, "POST", "/v3/pay/transactions/jsapi", `{"out_trade_no":"T1"}`)
			var e struct{ Code, Message string }
			if resp.StatusCode != 502 || json.Unmarshal([]byte(body), &e) != nil || e.Code != "SIGN_VERIFY_FAILED" {
				t.Fatalf("%d %s, want 502 SIGN_VERIFY_FAILED", resp.StatusCode, body)
			}
			if !strings.Contains(e.Message, c.reason) {
				t.Errorf("message %q does not say %q", e.Message, c.reason)
			}
			if strings.Contains(body, "canary") || strings.Contains(body, "5f1d") || resp.Header.Get("X-Upstream-Canary") != "" || resp.Header.Get("Wechatpay-Signature") != "" {
				t.Fatalf("the refused answer leaked: %v %s", resp.Header, body)
			}
		})
	}
	// WeChat Pay's own (signed) error answer passes with its status
	errBody := `{"code":"PARAM_ERROR","message":"参数错误"}`
	wx.SetAnswer(paykeystest.SignedAnswer(pm, 400, errBody, 0, nil))
	if resp, body := callPayAPI(t, "POST", "/v3/pay/transactions/jsapi", `{}`); resp.StatusCode != 400 || body != errBody {
		t.Fatalf("signed error answer: %d %s", resp.StatusCode, body)
	}
}

// TestPayAPICertificateMode: with apiv3_key only, a cold Caddy knows no
// certificate; the first answer's serial makes it download them (a signed
// GET /v3/certificates, which openssl verifies too), keep them in Caddy's
// storage, and verify the answer. A serial that is still unknown within a
// minute of that download is refused, without another download.
func TestPayAPICertificateMode(t *testing.T) {
	openssl := needOpenSSL(t)
	wx, wxURL := startWeChatPay(t)
	startCaddy(t, globalOptions("")+payAPISite(t, wxURL, certMode, ""))
	wx.SetAnswer(paykeystest.SignedAnswer(paykeystest.PlatformSigner(t), 200, `{"ok":1}`, 0, nil))
	if resp, body := callPayAPI(t, "GET", "/v3/x", ""); resp.StatusCode != 200 || body != `{"ok":1}` {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if n := wx.CertFetches(); n != 1 {
		t.Fatalf("%d certificate downloads, want 1", n)
	}
	var certReq paykeystest.Request
	for _, r := range wx.Requests() {
		if r.URI == "/v3/certificates" {
			certReq = r
		}
	}
	checkSignedWithOpenSSL(t, openssl, certReq)
	if _, err := caddy.DefaultStorage.Load(t.Context(), paykeys.StorageKey(paykeystest.MchID, wxURL)); err != nil {
		t.Errorf("the certificates are not in Caddy's storage: %v", err)
	}
	// the next answers use what is known: no download
	for range 3 {
		if resp, _ := callPayAPI(t, "GET", "/v3/x", ""); resp.StatusCode != 200 {
			t.Fatal(resp.StatusCode)
		}
	}
	_, rogue := paykeystest.NewCert(t)
	wx.SetAnswer(paykeystest.SignedAnswer(rogue, 200, `{"ok":2}`, 0, nil))
	if resp, body := callPayAPI(t, "GET", "/v3/x", ""); resp.StatusCode != 502 || strings.Contains(body, `"ok"`) {
		t.Fatalf("unknown serial: %d %s", resp.StatusCode, body)
	}
	if n := wx.CertFetches(); n != 1 {
		t.Fatalf("%d certificate downloads within a minute, want 1", n)
	}
}

// TestPayAPIMigration: both modes at once accept answers signed either way.
func TestPayAPIMigration(t *testing.T) {
	wx, wxURL := startWeChatPay(t)
	startCaddy(t, globalOptions("")+payAPISite(t, wxURL, migrationMode, ""))
	for i, s := range []paykeystest.Signer{paykeystest.PublicModeSigner(t), paykeystest.PlatformSigner(t), paykeystest.PublicModeSigner(t)} {
		wx.SetAnswer(paykeystest.SignedAnswer(s, 200, `{"n":1}`, 0, nil))
		if resp, body := callPayAPI(t, "GET", "/v3/x", ""); resp.StatusCode != 200 {
			t.Fatalf("answer %d signed by %s: %d %s", i, s.Serial, resp.StatusCode, body)
		}
	}
	if n := wx.CertFetches(); n != 1 {
		t.Fatalf("%d certificate downloads, want 1", n)
	}
}

// TestPaySecretsNeverLeak runs both directives through success and every
// kind of refusal — with the right APIv3 key, then with a wrong one (the
// certificates and the notifications no longer decrypt) — with Caddy
// logging at DEBUG, and looks for the APIv3 keys and the merchant private
// key (each PEM line, its private exponent and primes in decimal and hex)
// in the logs, every response, the admin API's config and the metrics.
func TestPaySecretsNeverLeak(t *testing.T) {
	wx, wxURL := startWeChatPay(t)
	backend, backendURL := startNotifyBackend(t)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	global := globalOptions("log {\n\t\toutput file " + logFile + "\n\t\tlevel DEBUG\n\t}")
	site := func() string {
		s := payAPISite(t, wxURL, migrationMode, "")
		// the notify route in the same site: a handle, which wins over the
		// less specific handle_path /wechatpay/*
		notify := strings.Replace(payNotifyRoute(t, backendURL, wxURL, migrationMode), "route /wechatpay/notify", "handle /wechatpay/notify", 1)
		return strings.Replace(s, "\thandle_path /wechatpay/* {", notify+"\thandle_path /wechatpay/* {", 1)
	}
	var seen strings.Builder
	record := func(status int, hdr http.Header, body string) {
		fmt.Fprintf(&seen, "%d %v %s\n", status, hdr, body)
	}
	_, rogue := paykeystest.NewCert(t)
	exercise := func() {
		for _, a := range []struct {
			signer paykeystest.Signer
			skew   time.Duration
			mutate func(http.Header, *string)
		}{
			{paykeystest.PlatformSigner(t), 0, nil},
			{paykeystest.PublicModeSigner(t), 0, nil},
			{paykeystest.PublicModeSigner(t), 0, paykeystest.TamperBody},
			{paykeystest.PublicModeSigner(t), 0, paykeystest.TamperSignature},
			{paykeystest.PublicModeSigner(t), -10 * time.Minute, nil},
			{paykeystest.PublicModeSigner(t), 0, paykeystest.DropSignature},
			{rogue, 0, nil},
		} {
			wx.SetAnswer(paykeystest.SignedAnswer(a.signer, 200, `{"prepay_id":"wx1"}`, a.skew, a.mutate))
			resp, body := callPayAPI(t, "POST", "/v3/pay/transactions/jsapi", `{"out_trade_no":"T1"}`)
			record(resp.StatusCode, resp.Header, body)
		}
		resp, body := callPayAPI(t, "GET", "/v2/nope", "")
		record(resp.StatusCode, resp.Header, body)
		pm := paykeystest.PublicModeSigner(t)
		good := newSignedNotification(pm, paykeystest.APIv3Key, 0)
		tampered := newSignedNotification(pm, paykeystest.APIv3Key, 0)
		paykeystest.TamperSignature(tampered.header, nil)
		for _, n := range []signedNotification{
			good, good, // the second is a replay
			newSignedNotification(paykeystest.PlatformSigner(t), paykeystest.APIv3Key, 0),
			newSignedNotification(pm, paykeystest.OtherAPIv3Key, 0),
			newSignedNotification(pm, paykeystest.APIv3Key, -10*time.Minute),
			newSignedNotification(rogue, paykeystest.APIv3Key, 0),
			tampered,
		} {
			status, body := deliver(t, siteURL, n)
			record(status, nil, body)
		}
	}
	startCaddy(t, global+site())
	exercise()
	if len(backend.calls()) == 0 || wx.CertFetches() == 0 {
		t.Fatal("no notification reached the backend, or no certificate was downloaded: the success paths were not exercised")
	}
	// the wrong APIv3 key: nothing decrypts any more
	t.Setenv(payV3APIv3Env, paykeystest.OtherAPIv3Key)
	cfg := strings.ReplaceAll(site(), payV3APIv3Env, payV3APIv3Env+"_WRONG")
	t.Setenv(payV3APIv3Env+"_WRONG", paykeystest.OtherAPIv3Key)
	startCaddy(t, global+strings.Replace(cfg, "api_base    "+wxURL, "api_base    "+strings.Replace(wxURL, "127.0.0.1", "localhost", 1), -1))
	exercise()

	for _, path := range []string{"/config/", "/metrics"} {
		resp, err := http.Get("http://localhost:2999" + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		record(resp.StatusCode, resp.Header, string(b))
	}
	for _, c := range backend.calls() {
		record(0, c.header, c.body)
	}
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logs), `"level":"debug"`) || !strings.Contains(string(logs), "wechat_pay_notify") || !strings.Contains(string(logs), "wechat_pay_api") {
		t.Fatalf("the log lacks DEBUG lines or the handlers' lines: the test would prove nothing\n%.3000s", logs)
	}
	key := paykeystest.PrivateKey(t, paykeystest.MerchantKeyFile)
	needles := []string{paykeystest.APIv3Key, paykeystest.OtherAPIv3Key,
		key.D.String(), key.D.Text(16), key.Primes[0].String(), key.Primes[0].Text(16)}
	for _, line := range strings.Split(string(paykeystest.ReadKey(t, paykeystest.MerchantKeyFile)), "\n") {
		if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
			needles = append(needles, line)
		}
	}
	for name, hay := range map[string]string{"the log": string(logs), "responses, admin API, metrics, backend requests": seen.String()} {
		for _, needle := range needles {
			if strings.Contains(hay, needle) {
				t.Errorf("%s contain a secret (%.8s…)", name, needle)
			}
		}
	}
}

// TestPayV3ValidateErrors: what only loading the config can find — an
// unreadable or wrong key file, an APIv3 key placeholder that does not
// resolve or is not 32 bytes — fails `caddy validate` with an error naming
// the directive and the option, and never the key.
func TestPayV3ValidateErrors(t *testing.T) {
	t.Setenv("JSSDK_TEST_SHORT_APIV3", "s3cr3t-but-short")
	t.Setenv(payV3APIv3Env, paykeystest.APIv3Key)
	site := func(dir, opts string) string {
		return "{\n\tadmin off\n}\nhttp://localhost:9099 {\n\t" + dir + " {\n" + opts + "\n\t}\n\trespond ok\n}\n"
	}
	merchant := func(key string) string {
		return "mch_id " + paykeystest.MchID + "\nserial_no " + paykeystest.MchSerial + "\nprivate_key " + key + "\n"
	}
	mchKey, pubKey := paykeystest.KeyPath(t, paykeystest.MerchantKeyFile), paykeystest.KeyPath(t, paykeystest.PublicModePubFile)
	publicKey := func(path string) string { return "wechatpay_public_key " + path + " " + paykeystest.PublicKeyID + "\n" }
	apiv3 := "apiv3_key {env." + payV3APIv3Env + "}\n"
	for _, tc := range []struct {
		name, caddyfile string
		want            []string
	}{
		{"missing private key file", site("wechat_pay_api", merchant("/nonexistent/apiclient_key.pem")+publicKey(pubKey)), []string{"wechat_pay_api", "private_key", "/nonexistent/apiclient_key.pem"}},
		{"public key as private_key", site("wechat_pay_api", merchant(pubKey)+publicKey(pubKey)), []string{"wechat_pay_api", "private_key", "no PRIVATE KEY"}},
		{"private key as wechatpay_public_key", site("wechat_pay_api", merchant(mchKey)+publicKey(mchKey)), []string{"wechat_pay_api", "wechatpay_public_key"}},
		{"unset apiv3_key", site("wechat_pay_api", merchant(mchKey)+"apiv3_key {env.JSSDK_TEST_UNSET_APIV3}"), []string{"wechat_pay_api", "apiv3_key"}},
		{"short apiv3_key", site("wechat_pay_notify", publicKey(pubKey)+"apiv3_key {env.JSSDK_TEST_SHORT_APIV3}"), []string{"wechat_pay_notify", "apiv3_key", "32 bytes"}},
		{"notify merchant key unreadable", site("wechat_pay_notify", apiv3+merchant("/nonexistent/k.pem")), []string{"wechat_pay_notify", "private_key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validate(tc.caddyfile)
			if err == nil {
				t.Fatalf("config validated:\n%s", tc.caddyfile)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), paykeystest.APIv3Key) {
				t.Errorf("error %q shows the key", err)
			}
		})
	}
	for _, ok := range []string{
		site("wechat_pay_api", merchant(mchKey)+publicKey(pubKey)+apiv3),
		site("wechat_pay_notify", apiv3+publicKey(pubKey)+merchant(mchKey)),
	} {
		if err := validate(ok); err != nil {
			t.Errorf("a good config fails: %v\n%s", err, ok)
		}
	}
}
