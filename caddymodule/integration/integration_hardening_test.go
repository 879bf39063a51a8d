package integration_test

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Issue #15, findings 5 and 6: wechat_pay signs only what can be a prepay
// id, and no web page can drive the sandbox's control calls.

// hardenOrders are the order backend's answers, by the last path element:
// prepay ids a backend (or whoever controls its answer) might send. The
// hostile ones would change what "package" means to whoever reads it as a
// query string, or are not prepay ids at all.
var hardenOrders = map[string]struct {
	body   string
	signed string // the package it is signed as; "" when it must pass through
}{
	"valid":          {`{"order":1,"prepay_id":"` + payPrepayID + `"}`, "prepay_id=" + payPrepayID},
	"valid-package":  {`{"order":1,"prepay_id":"prepay_id=` + payPrepayID + `"}`, "prepay_id=" + payPrepayID},
	"valid-64":       {`{"prepay_id":"` + strings.Repeat("A-z_9", 12) + `wx_-"}`, "prepay_id=" + strings.Repeat("A-z_9", 12) + "wx_-"},
	"ampersand":      {`{"order":1,"prepay_id":"wx1&signType=MD5&key=x"}`, ""},
	"escaped-amp":    {`{"order":1,"prepay_id":"wx1\u0026signType=MD5\u0026key=x"}`, ""},
	"space":          {`{"order":1,"prepay_id":"wx1 2"}`, ""},
	"65-characters":  {`{"order":1,"prepay_id":"` + strings.Repeat("a", 65) + `"}`, ""},
	"prefix-hostile": {`{"order":1,"prepay_id":"prepay_id=wx1&signType=MD5"}`, ""},
	"equals":         {`{"order":1,"prepay_id":"wx1=2"}`, ""},
	"angle":          {`{"order":1,"prepay_id":"wx<1>"}`, ""},
}

// hardenUpstream answers the order named by the request's last path element.
type hardenUpstream struct{}

func (hardenUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o, ok := hardenOrders[path.Base(r.URL.Path)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(o.body)))
	io.WriteString(w, o.body)
}

func TestHardeningPaySignsOnlyPrepayIDs(t *testing.T) {
	t.Setenv(payAPIKeyEnv, payAPIKey)
	backend := httptest.NewServer(hardenUpstream{})
	defer backend.Close()
	startCaddy(t, globalOptions("")+`
http://`+siteAddr+` {
	wechat_pay {
		app_id    `+testAppID+`
		api_key   {env.`+payAPIKeyEnv+`}
		sign_type MD5
	}
	reverse_proxy `+strings.TrimPrefix(backend.URL, "http://")+`
}
`)
	for name, o := range hardenOrders {
		t.Run(name, func(t *testing.T) {
			resp, body := get(t, http.MethodPost, siteURL+"/orders/"+name)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if o.signed == "" {
				if body != o.body {
					t.Fatalf("a hostile prepay id was not passed through unchanged:\nupstream %s\nclient   %s", o.body, body)
				}
				if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(o.body)) {
					t.Errorf("Content-Length %q, want the upstream's %d", cl, len(o.body))
				}
				return
			}
			var got struct {
				Pay *payParams `json:"wechat_pay"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil || got.Pay == nil {
				t.Fatalf("a valid prepay id was not signed (%v): %s", err, body)
			}
			p := *got.Pay
			if p.Package != o.signed || p.SignType != "MD5" {
				t.Errorf("package %q signType %q, want %q MD5", p.Package, p.SignType, o.signed)
			}
			sum := md5.Sum([]byte("appId=" + p.AppID + "&nonceStr=" + p.NonceStr + "&package=" + p.Package +
				"&signType=MD5&timeStamp=" + p.TimeStamp + "&key=" + payAPIKey))
			if want := strings.ToUpper(hex.EncodeToString(sum[:])); p.PaySign != want {
				t.Errorf("paySign %s, want %s", p.PaySign, want)
			}
		})
	}
}

// The hardening sandbox has an app of its own, so that the control calls
// below disturb no other test's credentials.
const (
	hardenAppID   = "wxhardening0000001"
	hardenSandbox = `
http://` + sandAddr + ` {
	wechat_sandbox {
		app_id     ` + hardenAppID + `
		app_secret ` + testSecret + `
	}
}
`
	// hostileOrigin is a web page that has no business with the sandbox.
	hostileOrigin = "http://evil.example"
)

// sandboxControlCalls are the control calls with a body each accepts.
var sandboxControlCalls = []struct{ path, body string }{
	{"/sandbox/chaos", `{}`},
	{"/sandbox/fault", `{"endpoint":"token","errcode":45009}`},
	{"/sandbox/reset", `{}`},
	{"/sandbox/rotate", `{}`},
}

// sandboxDo sends one request to the hardening sandbox; header pairs follow.
func sandboxDo(t *testing.T, method, p, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, sandURL+p, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHardeningSandboxControlNoCORS(t *testing.T) {
	startCaddy(t, globalOptions("")+hardenSandbox)
	paths := []string{"/sandbox/stats", "/sandbox/verify", "/sandbox/pay/transactions/jsapi", "/sandbox/pay/verify", "/sandbox/jweixin.js"}
	for _, c := range sandboxControlCalls {
		paths = append(paths, c.path)
	}
	for _, p := range paths {
		t.Run("preflight "+p, func(t *testing.T) {
			resp, _ := sandboxDo(t, http.MethodOptions, p, "",
				"Origin", hostileOrigin,
				"Access-Control-Request-Method", "POST",
				"Access-Control-Request-Headers", "content-type")
			for k, v := range resp.Header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("preflight from %s answered %s: %v", hostileOrigin, k, v)
				}
			}
		})
	}
	for _, c := range sandboxControlCalls {
		t.Run("POST "+c.path, func(t *testing.T) {
			resp, body := sandboxDo(t, http.MethodPost, c.path, c.body,
				"Origin", hostileOrigin, "Content-Type", "application/json")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("a JSON POST was refused: %d %s", resp.StatusCode, body)
			}
			if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
				t.Errorf("Access-Control-Allow-Origin %q on a control call", v)
			}
		})
	}
	stats := func() string {
		_, body := sandboxDo(t, http.MethodGet, "/sandbox/stats", "")
		return body
	}
	_, _ = sandboxDo(t, http.MethodPost, "/sandbox/reset", `{}`, "Content-Type", "application/json")
	_, _ = sandboxDo(t, http.MethodPost, "/sandbox/chaos", `{}`, "Content-Type", "application/json")
	for _, c := range sandboxControlCalls {
		for _, tc := range []struct {
			name, method, contentType, body string
			status                          int
		}{
			{"GET", http.MethodGet, "", "", http.StatusMethodNotAllowed},
			{"PUT", http.MethodPut, "application/json", c.body, http.StatusMethodNotAllowed},
			{"DELETE", http.MethodDelete, "", "", http.StatusMethodNotAllowed},
			{"form POST", http.MethodPost, "application/x-www-form-urlencoded", "endpoint=token&errcode=45009", http.StatusUnsupportedMediaType},
			{"multipart POST", http.MethodPost, "multipart/form-data; boundary=x", "--x--\r\n", http.StatusUnsupportedMediaType},
			// what a page can send without a preflight: a JSON body as text/plain
			{"text/plain POST", http.MethodPost, "text/plain", c.body, http.StatusUnsupportedMediaType},
			{"POST without Content-Type", http.MethodPost, "", c.body, http.StatusUnsupportedMediaType},
		} {
			t.Run(tc.name+" "+c.path, func(t *testing.T) {
				before := stats()
				headers := []string{"Origin", hostileOrigin}
				if tc.contentType != "" {
					headers = append(headers, "Content-Type", tc.contentType)
				}
				resp, body := sandboxDo(t, tc.method, c.path, tc.body, headers...)
				if resp.StatusCode != tc.status {
					t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
				}
				if tc.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "POST" {
					t.Errorf("Allow %q, want POST", resp.Header.Get("Allow"))
				}
				if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
					t.Errorf("Access-Control-Allow-Origin %q", v)
				}
				if after := stats(); after != before {
					t.Errorf("a refused call changed the sandbox: stats %s, then %s", before, after)
				}
			})
		}
	}
	// none of the refused calls queued a fault or set chaos: WeChat's token
	// call works
	resp, body := sandboxDo(t, http.MethodGet, "/cgi-bin/token?grant_type=client_credential&appid="+hardenAppID+"&secret="+testSecret, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"access_token"`) {
		t.Errorf("token after the refused calls: %d %s", resp.StatusCode, body)
	}
}

// TestHardeningSandboxHostilePage loads, in headless Chromium, a page on
// another origin that tries what any web page can: a no-cors text/plain
// POST queuing a fault, a preflighted JSON POST turning on an outage, and a
// form submitted to reset. None of them may reach the sandbox.
func TestHardeningSandboxHostilePage(t *testing.T) {
	chromium(t)
	page := `<!doctype html><html><head><title>hostile</title></head><body><pre id="out">running</pre>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" target="sink" enctype="text/plain" action="` + sandURL + `/sandbox/fault">
<input name='{"endpoint":"token","errcode":45009,"times":9,"x":"' value='"}'>
</form>
<script>
var s = "` + sandURL + `", out = document.getElementById("out"), log = [], left = 3;
function done(what) { return function (r) { log.push(what + ":" + (r && r.type ? r.type + " " + r.status : String(r))); if (--left === 0) out.textContent = "done " + log.join(" | "); }; }
fetch(s + "/sandbox/fault", {method: "POST", mode: "no-cors", body: '{"endpoint":"token","errcode":45009,"times":9}'}).then(done("fault"), done("fault"));
fetch(s + "/sandbox/chaos", {method: "POST", headers: {"Content-Type": "application/json"}, body: '{"outage":true}'}).then(done("chaos"), done("chaos"));
fetch(s + "/sandbox/rotate", {method: "POST", headers: {"Content-Type": "application/json"}, body: '{}'}).then(function (r) { return r.text(); }).then(done("rotate read"), done("rotate read"));
document.getElementById("f").submit();
</script></body></html>`
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	startCaddy(t, globalOptions("")+hardenSandbox+`
http://`+siteAddr+` {
	root * `+root+`
	file_server
}
`)
	_, _ = sandboxDo(t, http.MethodPost, "/sandbox/reset", `{}`, "Content-Type", "application/json")
	_, _ = sandboxDo(t, http.MethodPost, "/sandbox/chaos", `{}`, "Content-Type", "application/json")
	token := func() (int, string) {
		req, _ := http.NewRequest(http.MethodGet, sandURL+"/cgi-bin/token?grant_type=client_credential&appid="+hardenAppID+"&secret="+testSecret, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := token(); code != http.StatusOK || !strings.Contains(body, `"access_token"`) {
		t.Fatalf("token before the page: %d %s", code, body)
	}
	dom, _ := browse(t, siteURL+"/", uaAndroidWeChat, "")
	if !strings.Contains(dom, "done ") {
		t.Fatalf("the hostile page did not finish:\n%s", dom)
	}
	if strings.Contains(dom, "rotate read:{") {
		t.Errorf("the page read a control call's answer:\n%s", dom)
	}
	for range 3 {
		if code, body := token(); code != http.StatusOK || !strings.Contains(body, `"access_token"`) {
			t.Fatalf("the hostile page disrupted the sandbox: token %d %s\npage: %s", code, body, dom)
		}
	}
	_, _ = sandboxDo(t, http.MethodPost, "/sandbox/chaos", `{}`, "Content-Type", "application/json")
}

// TestHardeningSandboxAllowOrigin: with allow_origin, the site's pages may
// read the stub's checks, and still not one control call.
func TestHardeningSandboxAllowOrigin(t *testing.T) {
	startCaddy(t, globalOptions("")+strings.Replace(hardenSandbox, "app_secret ", "allow_origin "+siteURL+"\n\t\tapp_secret ", 1))
	for _, tc := range []struct {
		origin string
		want   string
	}{{siteURL, siteURL}, {hostileOrigin, ""}, {"http://127.0.0.1:9080", ""}} {
		for _, p := range []string{"/sandbox/verify", "/sandbox/pay/verify"} {
			resp, body := sandboxDo(t, http.MethodPost, p, `{}`, "Origin", tc.origin, "Content-Type", "text/plain")
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.want {
				t.Errorf("POST %s from %s: Access-Control-Allow-Origin %q, want %q (%d %s)", p, tc.origin, got, tc.want, resp.StatusCode, body)
			}
			if resp.Header.Get("Vary") != "Origin" {
				t.Errorf("POST %s: Vary %q, want Origin", p, resp.Header.Get("Vary"))
			}
		}
	}
	for _, c := range sandboxControlCalls {
		for _, method := range []string{http.MethodOptions, http.MethodPost} {
			resp, body := sandboxDo(t, method, c.path, c.body, "Origin", siteURL, "Content-Type", "application/json",
				"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
			for k, v := range resp.Header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("%s %s from the allowed site: %s %v (%d %s)", method, c.path, k, v, resp.StatusCode, body)
				}
			}
		}
	}
}

// TestHardeningPlainHTTPWarns: wechat_jssdk and wechat_oauth warn when a
// secret would travel over plain http, naming scheme://host only; plain
// http to a loopback address (the demo's sandbox) is an INFO.
func TestHardeningPlainHTTPWarns(t *testing.T) {
	const (
		gwSecret   = "leakcanary-token-key"
		secretEnv  = "JSSDK_TEST_HARDEN_SECRET"
		tokenKey   = "JSSDK_TEST_HARDEN_TOKEN_KEY"
		storageOpt = "storage file_system "
	)
	t.Setenv(secretEnv, testSecret)
	t.Setenv(tokenKey, gwSecret)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	global := globalOptions(storageOpt + t.TempDir() + "\n\tlog {\n\t\toutput file " + logFile + "\n\t\tlevel INFO\n\t}")
	startCaddy(t, global+`
http://`+siteAddr+` {
	route /remote/* {
		wechat_jssdk {
			app_id     wxhardenplain00001
			app_secret {env.`+secretEnv+`}
			api_base   http://wechat-gw.invalid:8080
		}
	}
	route /service/* {
		wechat_jssdk {
			app_id       wxhardenplain00002
			api_base     https://api.weixin.qq.com
			token_source url http://tokens.invalid/wechat/token?key=`+gwSecret+`
			token_header Authorization "Bearer {env.`+tokenKey+`}"
		}
	}
	route /local/* {
		wechat_jssdk {
			app_id     wxhardenplain00003
			app_secret {env.`+secretEnv+`}
			api_base   `+sandURL+`
		}
	}
	route /tls/* {
		wechat_jssdk {
			app_id     wxhardenplain00004
			app_secret {env.`+secretEnv+`}
		}
	}
	wechat_oauth /shop/* {
		app_id     wxhardenplain00005
		app_secret {env.`+secretEnv+`}
		api_base   http://oauth-gw.invalid
	}
	respond "ok"
}
`)
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Level, Logger, Msg, Directive, Option, URL string
	}
	var got []entry
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, gwSecret) || strings.Contains(line, testSecret) {
			t.Errorf("the log shows a secret: %s", line)
		}
		var e entry
		if json.Unmarshal([]byte(line), &e) == nil && strings.Contains(e.Msg, "is plain http") {
			got = append(got, e)
		}
	}
	want := []entry{
		{"warn", "http.handlers.wechat_jssdk", "", "wechat_jssdk", "api_base", "http://wechat-gw.invalid:8080"},
		{"warn", "http.handlers.wechat_jssdk", "", "wechat_jssdk", "token_url", "http://tokens.invalid"},
		{"info", "http.handlers.wechat_jssdk", "", "wechat_jssdk", "api_base", sandURL},
		{"warn", "http.handlers.wechat_oauth", "", "wechat_oauth", "api_base", "http://oauth-gw.invalid"},
	}
	for _, w := range want {
		n := 0
		for _, e := range got {
			if e.Level == w.Level && e.Logger == w.Logger && e.Directive == w.Directive && e.Option == w.Option && e.URL == w.URL {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d log entries %s %s %s %s, want one; plain-http entries: %+v", n, w.Level, w.Directive, w.Option, w.URL, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d plain-http entries, want %d (none for https): %+v", len(got), len(want), got)
	}
}
