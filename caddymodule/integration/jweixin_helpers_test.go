package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tests in integration_jweixin_test.go run Tencent's jweixin — npm
// weixin-js-sdk 1.6.5, which .ci/run installs with `npm ci` in
// testdata/e2e — in headless Chromium, against the WeixinJSBridge
// emulation in testdata/e2e/jweixin/bridge.js. Each test has an app of its
// own (a fresh credential store and sandbox state: the tests rotate
// credentials, and a store refetches a suspect ticket at most every 5 s)
// and this sandbox, which the site also proxies under /sandbox/ so that
// the bridge checks signatures with the sandbox's verifier on the page's
// own origin.
const (
	jwxSandAddr = "127.0.0.1:9083"
	jwxSandURL  = "http://" + jwxSandAddr
	jwxSDKPath  = "/npm/jweixin-1.6.5.js"
)

// jweixinSource is the npm package's index.js. Without node_modules the
// test skips — which fails it when JSSDK_NO_SKIP is set, as in CI.
func jweixinSource(t *testing.T) []byte {
	t.Helper()
	failSkips(t)
	src, err := os.ReadFile(repoPath("testdata/e2e/node_modules/weixin-js-sdk/index.js"))
	if err != nil {
		t.Skipf("Tencent's jweixin is not installed (run `npm ci` in testdata/e2e): %v", err)
	}
	return src
}

// The npm build assigns its wx object to module.exports and sets no
// globals (its factory gets no second argument); the CDN build
// (res.wx.qq.com/open/js/jweixin-1.6.0.js) ends with
// `r.wx = r.jWeixin = _`. These two lines make the first behave like the
// second.
const (
	jweixinWrapHead = "(function (module) {\n"
	jweixinWrapTail = "\nwindow.wx = window.jWeixin = module.exports;\n})({exports: {}});\n"
)

// wrappedJweixinDir writes the wrapped jweixin into a temporary directory
// that the test site serves as /npm/.
func wrappedJweixinDir(t *testing.T) string {
	t.Helper()
	src := jweixinSource(t)
	dir := t.TempDir()
	js := append(append([]byte(jweixinWrapHead), src...), jweixinWrapTail...)
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(jwxSDKPath)), js, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// jwxApp is the app of one test.
type jwxApp struct {
	id string
}

// newJwxApp names an app no earlier test or run has used.
func newJwxApp() jwxApp {
	return jwxApp{id: "wxjwx" + strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// jwxOptions are what differs between the tests' Caddyfiles.
type jwxOptions struct {
	// sandbox latency on every /cgi-bin call ("" for none)
	latency string
	// config_endpoint off when set
	noEndpoint bool
}

// The merchant of the chooseWXPay test, as the demo's (Caddyfile.example):
// the sandbox plays WeChat Pay API v3 for it in public-key mode.
const (
	jwxMchID          = "1900000001"
	jwxMerchantSerial = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
	jwxPubKeyID       = "PUB_KEY_ID_0114232134912410000000000000"
)

// startJweixinSite runs the sandbox for app and a site serving
// testdata/e2e behind wechat_jssdk, with the wrapped jweixin as sdk_url,
// the sandbox proxied under /sandbox/, and an order backend signed by
// wechat_pay at /api/order.
func startJweixinSite(t *testing.T, app jwxApp, o jwxOptions) {
	t.Helper()
	chromium(t)
	npm := wrappedJweixinDir(t)
	latency := ""
	if o.latency != "" {
		latency = "latency " + o.latency
	}
	endpoint := "config_endpoint " + configPath
	if o.noEndpoint {
		endpoint = ""
	}
	caddyfile := globalOptions("") + `
http://` + jwxSandAddr + ` {
	wechat_sandbox {
		app_id     ` + app.id + `
		app_secret ` + testSecret + `
		merchant_public_key ` + repoPath("testdata/keys/apiclient_pub.pem") + `
		mch_id                ` + jwxMchID + `
		merchant_serial       ` + jwxMerchantSerial + `
		wechatpay_private_key ` + repoPath("testdata/keys/wechatpay_pubkey_key.pem") + ` ` + jwxPubKeyID + `
		apiv3_key             {file.` + repoPath("testdata/demo-apiv3-key.txt") + `}
		` + latency + `
	}
}

http://` + siteAddr + ` {
	wechat_jssdk {
		app_id     ` + app.id + `
		app_secret ` + testSecret + `
		api_base   ` + jwxSandURL + `
		sdk_url    ` + jwxSDKPath + `
		` + endpoint + `
	}
	handle /sandbox/* {
		reverse_proxy ` + jwxSandAddr + ` {
			header_up Host {upstream_hostport}
		}
	}
	# The page's order goes to WeChat Pay (the sandbox) as a merchant call
	# signed by wechat_pay_api; wechat_pay signs chooseWXPay into the answer.
	handle /api/order {
		wechat_pay {
			app_id      ` + app.id + `
			private_key ` + repoPath("testdata/keys/apiclient_key.pem") + `
		}
		rewrite * /v3/pay/transactions/jsapi
		wechat_pay_api {
			mch_id               ` + jwxMchID + `
			serial_no            ` + jwxMerchantSerial + `
			private_key          ` + repoPath("testdata/keys/apiclient_key.pem") + `
			wechatpay_public_key ` + repoPath("testdata/keys/wechatpay_pub_key.pem") + ` ` + jwxPubKeyID + `
		}
		reverse_proxy ` + jwxSandAddr + ` {
			header_up Host {upstream_hostport}
		}
	}
	handle /npm/* {
		uri strip_prefix /npm
		root * ` + npm + `
		file_server
	}
	handle {
		root * ` + e2eRoot + `
		try_files {path} /jweixin/spa.html
		file_server
	}
}
`
	startCaddy(t, caddyfile)
}

// sandboxControl posts a JSON body to one of the sandbox's control calls
// (/sandbox/rotate, /sandbox/chaos, …).
func sandboxControl(t *testing.T, path, body string) {
	t.Helper()
	resp, err := http.Post(jwxSandURL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", path, resp.Status)
	}
}

// warmAndRotate has the site's credential store fetch a ticket (by serving
// a page), then rotates the app's credentials behind its back, as another
// service of the account would: the store's cached ticket is now one
// WeChat rejects.
func warmAndRotate(t *testing.T) {
	t.Helper()
	resp, body := get(t, http.MethodGet, siteURL+"/jweixin/classic.html?warm=1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("warm-up page: %s", resp.Status)
	}
	c := injectedConfig(t, body)
	if ok, msg := verifyAt(t, jwxSandURL, c, siteURL+"/jweixin/classic.html?warm=1"); !ok {
		t.Fatalf("warm-up page not signed validly: %s", msg)
	}
	sandboxControl(t, "/sandbox/rotate", "{}")
	if ok, _ := verifyAt(t, jwxSandURL, c, siteURL+"/jweixin/classic.html?warm=1"); ok {
		t.Fatal("the rotation did not invalidate the cached ticket: the test proves nothing")
	}
}

// jwxRecord is what testdata/e2e/jweixin/bridge.js records on a page.
type jwxRecord struct {
	BridgeAt int `json:"bridgeAt"`
	Invokes  []struct {
		Name      string `json:"name"`
		URL       string `json:"url"`
		ErrMsg    string `json:"err_msg"`
		Signature string `json:"signature"`
		At        int    `json:"at"`
	} `json:"invokes"`
	Marks []struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
		Href  string `json:"href"`
		At    int    `json:"at"`
	} `json:"marks"`
	Events []struct {
		Type   string `json:"type"`
		URL    string `json:"url"`
		ErrMsg string `json:"errMsg"`
		At     int    `json:"at"`
	} `json:"events"`
	Endpoint []string `json:"endpoint"` // the config endpoint URLs the page asked
}

// retries counts the page's config endpoint calls with retry=1.
func (r jwxRecord) retries() int {
	n := 0
	for _, u := range r.Endpoint {
		if strings.HasSuffix(u, "&retry=1") {
			n++
		}
	}
	return n
}

// marks returns the values the page marked with kind, in order.
func (r jwxRecord) marks(kind string) []string {
	var out []string
	for _, m := range r.Marks {
		if m.Kind == kind {
			out = append(out, m.Value)
		}
	}
	return out
}

// order returns the kinds of the page's marks, in order.
func (r jwxRecord) order() []string {
	var out []string
	for _, m := range r.Marks {
		out = append(out, m.Kind)
	}
	return out
}

// answers returns the bridge's answers to invokes of name, in order.
func (r jwxRecord) answers(name string) []string {
	var out []string
	for _, i := range r.Invokes {
		if i.Name == name {
			out = append(out, i.ErrMsg)
		}
	}
	return out
}

// events returns the boot script's events of typ ("ready", "error").
func (r jwxRecord) events(typ string) int {
	n := 0
	for _, e := range r.Events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// String is the record as JSON, for failure messages.
func (r jwxRecord) String() string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

// browseJweixin loads pageURL in headless Chromium with the user agent ua
// and returns the dumped DOM and the console errors. Unlike browse, it
// makes open.weixin.qq.com fail to resolve: jweixin loads a usage report
// image from there after each wx.config, and no test should wait on the
// internet.
func browseJweixin(t *testing.T, pageURL, ua string) (dom string, consoleErrors []string) {
	t.Helper()
	bin := chromium(t)
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
		"--host-resolver-rules=MAP open.weixin.qq.com ~NOTFOUND",
		"--virtual-time-budget=10000", "--user-agent=" + ua, "--dump-dom", pageURL,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", pageURL, err, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") && (strings.Contains(line, "Uncaught") || strings.Contains(line, "Error")) {
			consoleErrors = append(consoleErrors, line)
		}
	}
	return stdout.String(), consoleErrors
}

var (
	jwxPre   = regexp.MustCompile(`(?s)<pre id="e2e">(.*?)</pre>`)
	jwxFrame = regexp.MustCompile(`<iframe [^>]*data-e2e="([^"]*)"`)
)

// jwxPage loads pageURL and returns its record.
func jwxPage(t *testing.T, pageURL, ua string) jwxRecord {
	t.Helper()
	dom, errs := browseJweixin(t, pageURL, ua)
	m := jwxPre.FindStringSubmatch(dom)
	if m == nil || strings.TrimSpace(m[1]) == "" {
		t.Fatalf("no record in the page:\n%s", dom)
	}
	if len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
	return parseJwxRecord(t, m[1])
}

// jwxFrames loads pageURL and returns the records its iframes reported.
func jwxFrames(t *testing.T, pageURL, ua string) []jwxRecord {
	t.Helper()
	dom, errs := browseJweixin(t, pageURL, ua)
	if len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
	var out []jwxRecord
	for _, m := range jwxFrame.FindAllStringSubmatch(dom, -1) {
		out = append(out, parseJwxRecord(t, m[1]))
	}
	return out
}

func parseJwxRecord(t *testing.T, escaped string) jwxRecord {
	t.Helper()
	var r jwxRecord
	if err := json.Unmarshal([]byte(html.UnescapeString(escaped)), &r); err != nil {
		t.Fatalf("record: %v\n%s", err, escaped)
	}
	return r
}
