package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// User agents of the WeChat clients whose signature rules differ.
const (
	uaAndroidWeChat = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0 Mobile Safari/537.36 XWEB/1300 MMWEBSDK/20240301 MicroMessenger/8.0.49.2600(0x28003133) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
	uaIOSWeChat     = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN"
)

// chromium finds Debian's Chromium. Without it the test skips — which
// fails the test when JSSDK_NO_SKIP is set (CI installs it).
func chromium(t *testing.T) string {
	t.Helper()
	failSkips(t)
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("Chromium not found: install Debian's chromium to run the browser tests")
	return ""
}

// browse loads pageURL in headless Chromium with the user agent ua, lets
// its scripts run, and returns the DOM afterwards and the console errors.
// With screenshot set it also writes a PNG there.
func browse(t *testing.T, pageURL, ua, screenshot string) (dom string, consoleErrors []string) {
	t.Helper()
	bin := chromium(t)
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
		"--virtual-time-budget=10000", "--user-agent=" + ua,
	}
	if screenshot != "" {
		args = append(args, "--screenshot="+screenshot, "--window-size=900,1100", "--hide-scrollbars")
	} else {
		args = append(args, "--dump-dom")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, pageURL)...)
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

// e2eRecord is what testdata/e2e/e2e.js records on a page.
type e2eRecord struct {
	Ready []struct {
		URL  string `json:"url"`
		Href string `json:"href"`
	} `json:"ready"`
	Errors []string `json:"errors"`
	APIs   []struct {
		Href   string `json:"href"`
		ErrMsg string `json:"errMsg"`
	} `json:"apis"`
	Done       bool `json:"done"`
	SDKScripts int  `json:"sdkScripts"`
	Sandbox    *struct {
		Configs int  `json:"configs"`
		IOS     bool `json:"ios"`
	} `json:"sandbox"`
}

var e2eBlock = regexp.MustCompile(`(?s)<pre id="e2e">(.*?)</pre>`)

func readRecord(t *testing.T, dom string) e2eRecord {
	t.Helper()
	m := e2eBlock.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no e2e record in the page:\n%s", dom)
	}
	var rec e2eRecord
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &rec); err != nil {
		t.Fatalf("e2e record: %v\n%s", err, m[1])
	}
	return rec
}

// browserSite serves testdata/e2e behind wechat_jssdk with the sandbox's
// stub jweixin as sdk_url and the config endpoint on.
func browserSite(opts string) string {
	return browserSiteFor(testAppID, sandURL, opts)
}

// browserSiteFor is browserSite for another app and sandbox.
func browserSiteFor(appID, sandbox, opts string) string {
	return `
http://` + siteAddr + ` {
	wechat_jssdk {
		app_id          ` + appID + `
		app_secret      ` + testSecret + `
		api_base        ` + sandbox + `
		sdk_url         ` + sandbox + `/sandbox/jweixin.js
		` + opts + `
	}
	root * ` + e2eRoot + `
	try_files {path} /spa/index.html
	header /csp.html Content-Security-Policy "default-src 'self'; connect-src 'self' ` + sandURL + `"
	header /csp-nonce.html Content-Security-Policy "script-src 'nonce-e2eNonce0123456789' 'strict-dynamic'; connect-src 'self' ` + sandURL + `"
	header /gbk.html Content-Type "text/html; charset=gbk"
	file_server
}
`
}

func TestBrowserStaticPages(t *testing.T) {
	chromium(t)
	startCaddy(t, globalOptions("")+sandboxSite+browserSite("config_endpoint /.well-known/wechat-jssdk/config"))

	for _, tc := range []struct{ name, target string }{
		{"SDK loaded from sdk_url", "/pay.html"},
		{"page loads jweixin at the end of body", "/own-sdk.html"},
		{"script and non-ASCII in the query", "/pay.html?q=%3C/script%3E%3Cscript%3Ewindow.pwned=1%3C/script%3E&name=%E5%BE%AE%E4%BF%A1"},
		{"strict CSP without a nonce: hash added", "/csp.html"},
		{"CSP with a nonce and strict-dynamic", "/csp-nonce.html"},
		{"GBK page", "/gbk.html?name=%E5%BE%AE%E4%BF%A1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dom, errs := browse(t, siteURL+tc.target, uaAndroidWeChat, "")
			rec := readRecord(t, dom)
			if !rec.Done || len(rec.Ready) != 1 || len(rec.Errors) != 0 {
				t.Fatalf("want one wx.ready and no error, got %+v", rec)
			}
			if rec.Ready[0].URL != siteURL+tc.target {
				t.Errorf("ready for %q, want %q", rec.Ready[0].URL, siteURL+tc.target)
			}
			if len(rec.APIs) != 1 || rec.APIs[0].ErrMsg != "checkJsApi:ok" {
				t.Errorf("JS-SDK call after ready: %+v", rec.APIs)
			}
			if rec.SDKScripts != 1 || rec.Sandbox == nil || rec.Sandbox.Configs != 1 {
				t.Errorf("want exactly one jweixin and one wx.config, got %d scripts, %+v", rec.SDKScripts, rec.Sandbox)
			}
			if strings.Contains(dom, "pwned") && !strings.Contains(dom, "window.pwned=1%3C") {
				t.Errorf("query text reached the DOM unescaped")
			}
			if strings.HasPrefix(tc.target, "/gbk.html") && !strings.Contains(dom, "微信支付测试页") {
				t.Errorf("the GBK page's own text was garbled by the injection:\n%s", dom)
			}
			if len(errs) > 0 {
				t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
			}
		})
	}
}

func TestBrowserHistoryModeSPA(t *testing.T) {
	chromium(t)
	const landing = "/spa/?from=timeline"
	walk := []string{landing, "/spa/orders?page=2&q=%E8%AE%A2%E5%8D%95", "/spa/pay/42", "/spa/"}

	t.Run("Android WeChat re-signs every route", func(t *testing.T) {
		startCaddy(t, globalOptions("")+sandboxSite+browserSite("config_endpoint /.well-known/wechat-jssdk/config"))
		dom, errs := browse(t, siteURL+landing, uaAndroidWeChat, "")
		rec := readRecord(t, dom)
		if !rec.Done || len(rec.Errors) != 0 || len(rec.Ready) != len(walk) {
			t.Fatalf("want %d ready events and no error, got %+v", len(walk), rec)
		}
		for i, r := range rec.Ready {
			if r.URL != siteURL+walk[i] || r.Href != siteURL+walk[i] {
				t.Errorf("route %d: ready for %q at %q, want %q", i, r.URL, r.Href, siteURL+walk[i])
			}
		}
		for i, a := range rec.APIs {
			if a.ErrMsg != "checkJsApi:ok" {
				t.Errorf("route %d (%s): %s", i, a.Href, a.ErrMsg)
			}
		}
		if len(rec.APIs) != len(walk) {
			t.Errorf("%d API calls, want %d", len(rec.APIs), len(walk))
		}
		if len(errs) > 0 {
			t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
		}
	})
	t.Run("iOS WeChat keeps the landing signature", func(t *testing.T) {
		startCaddy(t, globalOptions("")+sandboxSite+browserSite("config_endpoint /.well-known/wechat-jssdk/config"))
		dom, errs := browse(t, siteURL+landing, uaIOSWeChat, "")
		rec := readRecord(t, dom)
		if !rec.Done || len(rec.Errors) != 0 || len(rec.Ready) != 1 || rec.Sandbox == nil || !rec.Sandbox.IOS || rec.Sandbox.Configs != 1 {
			t.Fatalf("want one landing config and ready on iOS, got %+v", rec)
		}
		if len(rec.APIs) != len(walk) {
			t.Fatalf("%d API calls, want %d: %+v", len(rec.APIs), len(walk), rec.APIs)
		}
		for i, a := range rec.APIs {
			if a.ErrMsg != "checkJsApi:ok" || a.Href != siteURL+walk[i] {
				t.Errorf("route %d (%s): %s", i, a.Href, a.ErrMsg)
			}
		}
		if len(errs) > 0 {
			t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
		}
	})
	t.Run("without config_endpoint Android routes fail", func(t *testing.T) {
		// The control: the sandbox stub does catch a stale signature.
		startCaddy(t, globalOptions("")+sandboxSite+browserSite(""))
		dom, _ := browse(t, siteURL+landing, uaAndroidWeChat, "")
		rec := readRecord(t, dom)
		if !rec.Done || len(rec.Ready) != 1 || len(rec.APIs) != 2 {
			t.Fatalf("want the landing ready and two API calls, got %+v", rec)
		}
		if rec.APIs[0].ErrMsg != "checkJsApi:ok" || !strings.Contains(rec.APIs[1].ErrMsg, "invalid signature") {
			t.Errorf("want ok on landing and invalid signature after navigation, got %+v", rec.APIs)
		}
	})
}
