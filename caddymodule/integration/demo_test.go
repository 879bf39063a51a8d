package integration_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDemoCaddyfile runs Caddyfile.example as the README's demo command
// does (from the repository root, where its relative paths point; only the
// global options are swapped for the test harness's) and checks that its
// pages carry a signature the sandbox accepts, then runs the whole pay flow
// with a backend that holds no key, as the demo page does: sign-in, an
// order created through wechat_pay_api, chooseWXPay signed by wechat_pay
// and paid at the sandbox, WeChat Pay's notification through
// wechat_pay_notify to the backend, in plain JSON. The sandbox's pay faults
// then show each gateway refusing what it must.
func TestDemoCaddyfile(t *testing.T) {
	startDemo(t)

	for _, target := range []string{"/", "/pay/order.html?order=42&from=demo"} {
		resp, body := get(t, http.MethodGet, "http://localhost:8080"+target)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", target, resp.StatusCode)
		}
		c := injectedConfig(t, body)
		if ok, msg := verifyAt(t, demoSandbox, c, "http://localhost:8080"+target); !ok {
			t.Errorf("%s: the sandbox rejects the demo's signature: %s", target, msg)
		}
	}

	u := newDemoUser(t)
	t.Run("pay flow", func(t *testing.T) {
		order := u.order(t, http.StatusOK)
		u.pay(t, order)
		tr := u.heard(t, order)
		if tr.TradeState != "SUCCESS" || tr.OutTradeNo != order.OutTradeNo || tr.Payer.OpenID != order.Payer.OpenID ||
			tr.Amount.Total != 1 || !strings.HasPrefix(tr.TransactionID, "42000") || tr.MchID != "1900000001" {
			t.Errorf("the backend heard %+v for %+v", tr, order)
		}
		d := demoDelivery(t, order.OutTradeNo)
		if !d.Delivered || len(d.Attempts) != 1 || d.Attempts[0].Status != http.StatusNoContent {
			t.Errorf("the sandbox's log of the notification: %+v", d)
		}
		// the backend's gateway: a plain call, signed by wechat_pay_api
		resp, body := get(t, http.MethodGet, "http://localhost:8080/wechatpay/v3/pay/transactions/out-trade-no/"+order.OutTradeNo+"?mchid=1900000001")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"trade_state":"SUCCESS"`) {
			t.Errorf("query through /wechatpay: %d %s", resp.StatusCode, body)
		}
		// a bodyless answer: WeChat Pay's 204 is signed over the empty body
		unpaid := u.order(t, http.StatusOK)
		closeURL := "http://localhost:8080/wechatpay/v3/pay/transactions/out-trade-no/" + unpaid.OutTradeNo + "/close"
		resp, err := http.Post(closeURL, "application/json", strings.NewReader(`{"mchid":"1900000001"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("closing an order through /wechatpay: %d", resp.StatusCode)
		}
		if s := u.status(t, unpaid, ""); s.Query.Answer.TradeState != "CLOSED" {
			t.Errorf("a closed order's query: %+v", s.Query)
		}
	})

	// Faults: WeChat Pay misbehaving, and the gateways refusing it.
	for _, tc := range []struct {
		name, fault string
		// the site's answers to the notification's requests, in order
		want []int
	}{
		{"replayed notification", `{"endpoint":"notify","replay":true}`, []int{http.StatusNoContent, http.StatusUnauthorized}},
		{"notification with a bad signature", `{"endpoint":"notify","signature":"bad"}`, []int{http.StatusUnauthorized, http.StatusNoContent}},
		{"notification with a SIGNTEST signature", `{"endpoint":"notify","signature":"signtest"}`, []int{http.StatusUnauthorized, http.StatusNoContent}},
		{"notification with a stale timestamp", `{"endpoint":"notify","signature":"stale"}`, []int{http.StatusUnauthorized, http.StatusNoContent}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sandboxFault(t, tc.fault)
			order := u.order(t, http.StatusOK)
			u.pay(t, order)
			if tr := u.heard(t, order); tr.TradeState != "SUCCESS" {
				t.Fatalf("the backend heard %+v", tr)
			}
			d := demoDelivery(t, order.OutTradeNo)
			var got []int
			for _, a := range d.Attempts {
				got = append(got, a.Status)
			}
			if !d.Delivered || !slices.Equal(got, tc.want) {
				t.Errorf("the site answered %v, want %v: %+v", got, tc.want, d)
			}
			if n := len(u.status(t, order, "").Notifications); n != 1 {
				t.Errorf("the backend heard the notification %d times, want once", n)
			}
		})
	}
	for _, tc := range []struct{ name, fault string }{
		{"answer with a bad signature", `{"endpoint":"pay","signature":"bad"}`},
		{"answer with a SIGNTEST signature", `{"endpoint":"pay","signature":"signtest"}`},
		{"answer with a stale timestamp", `{"endpoint":"pay","signature":"stale"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sandboxFault(t, tc.fault)
			refused := u.orderRefused(t)
			if refused.Status != http.StatusBadGateway || !strings.Contains(string(refused.Answer), `"code":"SIGN_VERIFY_FAILED"`) {
				t.Errorf("the backend got %+v, want wechat_pay_api's 502 SIGN_VERIFY_FAILED", refused)
			}
		})
	}
	t.Run("no payer", func(t *testing.T) {
		resp, body := get(t, http.MethodPost, "http://localhost:8080/api/order")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "no_payer") {
			t.Errorf("an order outside WeChat: %d %s", resp.StatusCode, body)
		}
	})
}

// TestBrowserDemoScreenshot runs the demo page's whole flow in headless
// Chromium with WeChat's User-Agent — sign-in, wx.ready, then the pay
// button (autopay=1): the order through wechat_pay_api, wechat_pay's
// signature, the stub's chooseWXPay, WeChat Pay's notification through
// wechat_pay_notify — until the page shows the decrypted notification's
// trade_state SUCCESS, and keeps a screenshot (in a temp dir, or
// JSSDK_SCREENSHOT_DIR when set). Like the demo command, it runs from the
// repository root, where Caddyfile.example's relative paths point.
func TestBrowserDemoScreenshot(t *testing.T) {
	chromium(t)
	startDemo(t)

	const page = "http://localhost:8080/pay/order.html?order=42&from=demo&autopay=1"
	dom, errs := browse(t, page, uaAndroidWeChat, "")
	if !strings.Contains(dom, `data-state="ready"`) {
		t.Fatalf("demo page did not reach wx.ready:\n%s", dom)
	}
	// the whole pay flow, down to the notification the backend received
	if !strings.Contains(dom, `id="pay-result" data-state="notified"`) || !strings.Contains(dom, "trade_state SUCCESS") ||
		!strings.Contains(dom, `"trade_state": "SUCCESS"`) {
		t.Fatalf("demo pay flow did not complete:\n%s", dom)
	}
	if len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
	dir := os.Getenv("JSSDK_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, "demo-ready.png")
	browse(t, page, uaAndroidWeChat, shot)
	info, err := os.Stat(shot)
	if err != nil || info.Size() < 1000 {
		t.Fatalf("no screenshot at %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}

// demoSandbox is the demo's sandbox.
const demoSandbox = "http://localhost:8081"

// startDemo runs Caddyfile.example from the repository root, with the
// test harness's global options.
func startDemo(t *testing.T) {
	t.Helper()
	startCaddy(t, demoCaddyfile(t))
}

// demoCaddyfile is Caddyfile.example with the test harness's global
// options, read from the repository root, which it makes the working
// directory.
func demoCaddyfile(t *testing.T) string {
	t.Helper()
	t.Chdir(repoRoot)
	raw, err := os.ReadFile("Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	demo := string(raw)
	const global = "{\n\tauto_https off\n}\n"
	if !strings.Contains(demo, global) {
		t.Fatalf("Caddyfile.example's global options changed; update this test:\n%s", demo)
	}
	return strings.Replace(demo, global, globalOptions(""), 1)
}

// TestDemoCaddyfileKeyModes runs the demo's pay flow with the sandbox
// signing in platform-certificate mode, and in a migration (public key and
// certificate in turn), and the site's wechat_pay_api and wechat_pay_notify
// configured to match: they download the certificate from the sandbox's
// GET /v3/certificates, decrypt it with the APIv3 key and verify with it —
// the sandbox's crypto against the plugin's, both ways.
func TestDemoCaddyfileKeyModes(t *testing.T) {
	const (
		sandboxPublic = "wechatpay_private_key testdata/keys/wechatpay_pubkey_key.pem PUB_KEY_ID_0114232134912410000000000000"
		sandboxCert   = "wechatpay_certificate testdata/keys/wechatpay_platform_cert.pem testdata/keys/wechatpay_platform_key.pem"
		sitePublic    = "wechatpay_public_key testdata/keys/wechatpay_pub_key.pem PUB_KEY_ID_0114232134912410000000000000"
		apiCert       = "apiv3_key {file.testdata/demo-apiv3-key.txt}\n\t\t\tapi_base http://localhost:8081"
		notifyCert    = "mch_id 1900000001\n\t\t\tserial_no 5157F09EFDC096DE15EBE81A47057A7232F1B8E1\n\t\t\tprivate_key testdata/keys/apiclient_key.pem\n\t\t\tapi_base http://localhost:8081"
	)
	for _, mode := range []struct {
		name                     string
		sandbox, payAPI, payNote string
	}{
		{"certificate", sandboxCert, apiCert, notifyCert},
		{"migration", sandboxPublic + "\n\t\t" + sandboxCert, sitePublic + "\n\t\t\t" + apiCert, sitePublic + "\n\t\t\t" + notifyCert},
	} {
		t.Run(mode.name, func(t *testing.T) {
			demo := demoCaddyfile(t)
			if strings.Count(demo, sandboxPublic) != 1 || strings.Count(demo, sitePublic) != 2 {
				t.Fatalf("Caddyfile.example's pay keys changed; update this test:\n%s", demo)
			}
			demo = strings.Replace(demo, sandboxPublic, mode.sandbox, 1)
			demo = replaceIn(t, demo, "wechat_pay_api {", sitePublic, mode.payAPI)
			demo = replaceIn(t, demo, "wechat_pay_notify /pay/notify {", sitePublic, mode.payNote)
			startCaddy(t, demo)

			u := newDemoUser(t)
			serials := map[string]bool{}
			// in a migration the keys take turns: a few orders see both
			// sign a notification
			for range 4 {
				order := u.order(t, http.StatusOK)
				u.pay(t, order)
				if tr := u.heard(t, order); tr.TradeState != "SUCCESS" || tr.OutTradeNo != order.OutTradeNo {
					t.Fatalf("the backend heard %+v", tr)
				}
				d := demoDelivery(t, order.OutTradeNo)
				if !d.Delivered || len(d.Attempts) != 1 {
					t.Errorf("notification log %+v", d)
				}
				serials[d.Attempts[0].Serial] = true
			}
			want := map[string]bool{"4DD1D11017F309D28AD6CB59FA4F29411A31C830": true}
			if mode.name == "migration" {
				want["PUB_KEY_ID_0114232134912410000000000000"] = true
			}
			if !maps.Equal(serials, want) {
				t.Errorf("notifications signed under %v, want %v", serials, want)
			}
			if n := sandboxStatsAt(t, demoSandbox)["pay_certificates"]; n < 1 {
				t.Errorf("wechat_pay_api never downloaded the certificates (pay_certificates %d)", n)
			}
		})
	}
}

// replaceIn replaces the first old after block in s.
func replaceIn(t *testing.T, s, block, old, new string) string {
	t.Helper()
	b := strings.Index(s, block)
	i := strings.Index(s[max(b, 0):], old)
	if b < 0 || i < 0 {
		t.Fatalf("no %q in a %q block of Caddyfile.example; update this test", old, block)
	}
	i += b
	return s[:i] + new + s[i+len(old):]
}

// demoUser is a WeChat user of the demo site, signed in through the
// sandbox's OAuth.
type demoUser struct {
	client *http.Client
}

func newDemoUser(t *testing.T) *demoUser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u := &demoUser{client: &http.Client{Jar: jar, Transport: uaTransport{}}}
	resp, _ := u.do(t, http.MethodGet, "http://localhost:8080/pay/order.html?order=42", "")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.RawQuery != "order=42" {
		t.Fatalf("signing in: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return u
}

// uaTransport sends every request with WeChat's User-Agent.
type uaTransport struct{}

func (uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", wechatUA)
	return http.DefaultTransport.RoundTrip(r)
}

func (u *demoUser) do(t *testing.T, method, rawURL, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := u.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// demoOrder is the order answer the page gets.
type demoOrder struct {
	PrepayID   string `json:"prepay_id"`
	OutTradeNo string `json:"out_trade_no"`
	Payer      struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
	WeChatPay map[string]string `json:"wechat_pay"`
}

// order creates an order as the page does.
func (u *demoUser) order(t *testing.T, want int) demoOrder {
	t.Helper()
	resp, body := u.do(t, http.MethodPost, "http://localhost:8080/api/order", `{"description":"integration test","amount":{"total":1}}`)
	var o demoOrder
	if resp.StatusCode != want || json.Unmarshal(body, &o) != nil || o.PrepayID == "" || o.Payer.OpenID == "" ||
		o.WeChatPay["package"] != "prepay_id="+o.PrepayID || o.WeChatPay["paySign"] == "" {
		t.Fatalf("creating an order: %d %s", resp.StatusCode, body)
	}
	return o
}

// demoRefusal is the backend's answer when WeChat Pay's answer did not
// come through.
type demoRefusal struct {
	Error  string          `json:"error"`
	Status int             `json:"status"`
	Answer json.RawMessage `json:"answer"`
}

func (u *demoUser) orderRefused(t *testing.T) demoRefusal {
	t.Helper()
	resp, body := u.do(t, http.MethodPost, "http://localhost:8080/api/order", `{}`)
	var r demoRefusal
	if resp.StatusCode != http.StatusBadGateway || json.Unmarshal(body, &r) != nil || r.Error != "wechat_pay_refused" {
		t.Fatalf("an order WeChat Pay's answer spoilt: %d %s", resp.StatusCode, body)
	}
	return r
}

// pay hands the signed parameters to the sandbox's pay check, as the stub
// chooseWXPay does once it has checked the page's config.
func (u *demoUser) pay(t *testing.T, o demoOrder) {
	t.Helper()
	body, _ := json.Marshal(o.WeChatPay)
	resp, err := http.Post(demoSandbox+"/sandbox/pay/verify", "text/plain", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		OK     bool   `json:"ok"`
		ErrMsg string `json:"errmsg"`
	}
	if json.NewDecoder(resp.Body).Decode(&r) != nil || !r.OK {
		t.Fatalf("paying %s: %+v", o.OutTradeNo, r)
	}
}

// demoTransaction is the decrypted transaction.
type demoTransaction struct {
	MchID         string `json:"mchid"`
	OutTradeNo    string `json:"out_trade_no"`
	TransactionID string `json:"transaction_id"`
	TradeState    string `json:"trade_state"`
	Payer         struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
	Amount struct {
		Total int `json:"total"`
	} `json:"amount"`
}

// demoStatus is what the backend says of an order.
type demoStatus struct {
	Notifications []struct {
		EventType string          `json:"event_type"`
		NotifyID  string          `json:"notify_id"`
		Resource  demoTransaction `json:"resource"`
	} `json:"notifications"`
	Query struct {
		Status int             `json:"status"`
		Answer demoTransaction `json:"answer"`
	} `json:"query"`
}

func (u *demoUser) status(t *testing.T, o demoOrder, wait string) demoStatus {
	t.Helper()
	resp, body := u.do(t, http.MethodGet, "http://localhost:8080/api/order/"+o.OutTradeNo+"?wait="+wait, "")
	var s demoStatus
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &s) != nil {
		t.Fatalf("order status: %d %s", resp.StatusCode, body)
	}
	return s
}

// heard waits for the backend to hear of the payment, and returns the
// transaction it heard (also checking WeChat Pay's query agrees).
func (u *demoUser) heard(t *testing.T, o demoOrder) demoTransaction {
	t.Helper()
	s := u.status(t, o, "10s")
	if len(s.Notifications) == 0 || s.Notifications[0].EventType != "TRANSACTION.SUCCESS" || s.Notifications[0].NotifyID == "" {
		t.Fatalf("no TRANSACTION.SUCCESS reached the backend: %+v", s)
	}
	if s.Query.Status != http.StatusOK || s.Query.Answer.TradeState != "SUCCESS" {
		t.Errorf("WeChat Pay's query through wechat_pay_api: %+v", s.Query)
	}
	return s.Notifications[0].Resource
}

// demoAttempt is one request of the sandbox's notification log.
type demoAttempt struct {
	Status int    `json:"status"`
	Serial string `json:"serial"`
	Fault  string `json:"fault"`
	Replay bool   `json:"replay"`
}

// demoDelivery waits until the sandbox has finished with the order's
// notification (a replay's second copy comes after the backend heard the
// first) and returns its log.
func demoDelivery(t *testing.T, no string) (d struct {
	Delivered bool          `json:"delivered"`
	Done      bool          `json:"done"`
	Attempts  []demoAttempt `json:"attempts"`
}) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, body := get(t, http.MethodGet, demoSandbox+"/sandbox/pay/notifications?out_trade_no="+no)
		var log struct {
			Notifications []json.RawMessage `json:"notifications"`
		}
		if err := json.Unmarshal([]byte(body), &log); err != nil || len(log.Notifications) != 1 {
			t.Fatalf("notification log of %s: %s", no, body)
		}
		if err := json.Unmarshal(log.Notifications[0], &d); err != nil {
			t.Fatal(err)
		}
		if d.Done {
			return d
		}
	}
	t.Fatalf("the notification of %s is not done after 15s: %+v", no, d)
	return d
}

// sandboxFault queues a fault at the demo's sandbox.
func sandboxFault(t *testing.T, fault string) {
	t.Helper()
	resp, err := http.Post(demoSandbox+"/sandbox/fault", "application/json", strings.NewReader(fault))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fault %s: %d", fault, resp.StatusCode)
	}
}

// TestXcaddyManifestMatchesGoMod keeps xcaddy.json's Caddy version the one
// this module is built and tested with.
func TestXcaddyManifestMatchesGoMod(t *testing.T) {
	raw, err := os.ReadFile(repoPath("xcaddy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var manifest struct {
		Caddy        string `json:"caddy"`
		Dependencies []struct {
			Module  string `json:"module"`
			Version string `json:"version"`
		} `json:"dependencies"`
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		t.Fatalf("xcaddy.json: %v", err)
	}
	versions := goModRequires(t)
	if got := versions["github.com/caddyserver/caddy/v2"]; got != manifest.Caddy {
		t.Errorf("xcaddy.json names Caddy %s, go.mod builds with %s", manifest.Caddy, got)
	}
	var self bool
	for _, d := range manifest.Dependencies {
		if d.Module == "github.com/caddy-wechat/jssdk" {
			self = true
		} else if v, ok := versions[d.Module]; !ok || v != d.Version {
			t.Errorf("xcaddy.json names %s %s, go.mod has %q", d.Module, d.Version, v)
		}
	}
	if !self {
		t.Error("xcaddy.json does not name this module")
	}
}

// goModRequires reads the module versions go.mod requires. (A test binary's
// debug.ReadBuildInfo carries no dependency list.)
func goModRequires(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(repoPath("go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	versions := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(f) >= 2 && strings.Contains(f[0], ".") && strings.HasPrefix(f[1], "v") {
			versions[f[0]] = f[1]
		}
	}
	if versions["github.com/caddyserver/caddy/v2"] == "" {
		t.Fatal("go.mod requires no Caddy")
	}
	return versions
}
