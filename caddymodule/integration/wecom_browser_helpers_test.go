package integration_test

import (
	"encoding/json"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tests in integration_wecom_browser_test.go run WeCom's @wecom/jssdk
// — npm 2.4.4, which .ci/run installs with `npm ci` in testdata/e2e — and
// Tencent's jweixin with a jwxwork stand-in, in headless Chromium, against
// the WeCom client emulation in testdata/e2e/wecom/bridge.js, which checks
// both signatures with the sandbox's own WeCom verifier
// (/sandbox/wecom/verify, proxied on the page's origin). Each test has a
// corp of its own, as the jweixin tests have an app of their own.

// User agents of WeCom's client: from 3.0.24 on @wecom/jssdk makes the
// agentConfig alone, before it the config first (so both signatures are
// checked).
const (
	uaWeComAndroid = "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0 Mobile Safari/537.36 wxwork/4.1.22 MicroMessenger/7.0.1 NetType/WIFI Language/zh ColorScheme/Light"
	uaWeComIOS     = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh ColorScheme/Light"
	uaWeComOld     = "Mozilla/5.0 (Linux; Android 10; MI 9 Build/QKQ1.190825.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/77.0 Mobile Safari/537.36 wxwork/3.0.16 MicroMessenger/7.0.1 NetType/WIFI Language/zh"
)

const (
	e2eAgentID     = "1000002"
	e2eWeComSecret = "integration-wecom-secret-52d1"
	// the global build of @wecom/jssdk, as the site serves it
	wecomSDKPath = "/npm/wecom-jssdk.js"
)

// wecomSDKDir writes @wecom/jssdk's global build (and its ES module build,
// /npm/wecom-jssdk.mjs) and the wrapped jweixin
// into a temporary directory that the test site serves as /npm/. Without
// node_modules the test skips, which fails it under JSSDK_NO_SKIP.
func wecomSDKDir(t *testing.T) string {
	t.Helper()
	dir := wrappedJweixinDir(t)
	src, err := os.ReadFile(repoPath("testdata/e2e/node_modules/@wecom/jssdk/dist/wecom.global.prod.js"))
	if err != nil {
		t.Skipf("WeCom's @wecom/jssdk is not installed (run `npm ci` in testdata/e2e): %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(wecomSDKPath)), src, 0o644); err != nil {
		t.Fatal(err)
	}
	// the ES module build, as a bundler would take it in
	esm, err := os.ReadFile(repoPath("testdata/e2e/node_modules/@wecom/jssdk/dist/wecom.prod.js"))
	if err != nil {
		t.Skipf("WeCom's @wecom/jssdk is not installed (run `npm ci` in testdata/e2e): %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "wecom-jssdk.mjs"), esm, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// wecomCorp is the corp of one test.
type wecomCorp struct {
	appID, corpID string // the sandbox also plays an Official Account
}

// newWecomCorp names a corp no earlier test or run has used.
func newWecomCorp() wecomCorp {
	n := strconv.FormatInt(time.Now().UnixNano(), 36)
	return wecomCorp{appID: "wxwc" + n, corpID: "wwe2e" + n}
}

// wecomOptions are what differs between the tests' Caddyfiles.
type wecomOptions struct {
	noEndpoint bool   // config_endpoint off
	sdkURL     string // "" for the global @wecom/jssdk
}

// startWeComSite runs the sandbox for corp and a site serving testdata/e2e
// behind wechat_jssdk in WeCom mode, the sandbox proxied under /sandbox/.
func startWeComSite(t *testing.T, corp wecomCorp, o wecomOptions) {
	t.Helper()
	chromium(t)
	npm := wecomSDKDir(t)
	endpoint := "config_endpoint " + configPath
	if o.noEndpoint {
		endpoint = ""
	}
	sdk := o.sdkURL
	if sdk == "" {
		sdk = wecomSDKPath
	}
	caddyfile := globalOptions("") + `
http://` + jwxSandAddr + ` {
	wechat_sandbox {
		app_id     ` + corp.appID + `
		app_secret ` + testSecret + `
		corp_id    ` + corp.corpID + `
		agent      ` + e2eAgentID + ` ` + e2eWeComSecret + `
	}
}

http://` + siteAddr + ` {
	wechat_jssdk {
		corp_id     ` + corp.corpID + `
		agent_id    ` + e2eAgentID + `
		corp_secret ` + e2eWeComSecret + `
		api_base    ` + jwxSandURL + `
		sdk_url     ` + sdk + `
		js_api_list checkJsApi getLocation
		agent_js_api_list selectExternalContact getContext
		` + endpoint + `
	}
	handle /sandbox/* {
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
		try_files {path} /wecom/spa.html
		file_server
	}
}
`
	startCaddy(t, caddyfile)
}

// e2eWeComBlock is the injected WeCom block, as far as the tests read it.
type e2eWeComBlock struct {
	AppID       string `json:"appId"`
	Beta        bool   `json:"beta"`
	Timestamp   int64  `json:"timestamp"`
	NonceStr    string `json:"nonceStr"`
	Signature   string `json:"signature"`
	URL         string `json:"url"`
	CorpID      string `json:"corpId"`
	AgentID     string `json:"agentId"`
	AgentConfig struct {
		CorpID    string `json:"corpid"`
		AgentID   string `json:"agentid"`
		Timestamp int64  `json:"timestamp"`
		NonceStr  string `json:"nonceStr"`
		Signature string `json:"signature"`
	} `json:"agentConfig"`
}

var e2eWeComBlockRE = regexp.MustCompile(`<script id="wechat-jssdk-config" type="application/json">([^<]*)</script>`)

// e2eWeComPageBlock fetches pageURL and returns its injected block and body.
func e2eWeComPageBlock(t *testing.T, pageURL string) (e2eWeComBlock, string) {
	t.Helper()
	resp, body := get(t, http.MethodGet, pageURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", pageURL, resp.Status)
	}
	m := e2eWeComBlockRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no block in %s:\n%s", pageURL, body)
	}
	var b e2eWeComBlock
	if err := json.Unmarshal([]byte(m[1]), &b); err != nil {
		t.Fatalf("block of %s: %v", pageURL, err)
	}
	return b, body
}

// e2eWeComVerify asks the sandbox whether the block's two signatures hold for
// pageURL: the config's and the agentConfig's verdicts.
func e2eWeComVerify(t *testing.T, b e2eWeComBlock, pageURL string) (config, agent bool) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"url":    pageURL,
		"config": map[string]any{"appId": b.AppID, "timestamp": b.Timestamp, "nonceStr": b.NonceStr, "signature": b.Signature},
		"agentConfig": map[string]any{"corpid": b.AgentConfig.CorpID, "agentid": b.AgentConfig.AgentID,
			"timestamp": b.AgentConfig.Timestamp, "nonceStr": b.AgentConfig.NonceStr, "signature": b.AgentConfig.Signature},
	})
	resp, err := http.Post(jwxSandURL+"/sandbox/wecom/verify", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("sandbox wecom verify: %v", err)
	}
	defer resp.Body.Close()
	var r struct {
		Config, AgentConfig struct {
			OK bool `json:"ok"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("sandbox wecom verify answer: %v", err)
	}
	return r.Config.OK, r.AgentConfig.OK
}

// warmAndRotateWeCom has the site's stores fetch both tickets (by serving
// a page), then rotates the corp's credentials behind their back: both
// cached tickets are now ones WeCom rejects.
func warmAndRotateWeCom(t *testing.T) {
	t.Helper()
	page := siteURL + "/wecom/static.html?warm=1"
	b, _ := e2eWeComPageBlock(t, page)
	if config, agent := e2eWeComVerify(t, b, page); !config || !agent {
		t.Fatalf("warm-up page not signed validly: config %v, agentConfig %v", config, agent)
	}
	sandboxControl(t, "/sandbox/rotate", "{}")
	if config, agent := e2eWeComVerify(t, b, page); config || agent {
		t.Fatalf("the rotation did not invalidate the cached tickets (config %v, agentConfig %v): the test proves nothing", config, agent)
	}
}

// wecomRecord is what testdata/e2e/wecom/bridge.js records on a page: the
// jweixin bridge's record, and the client version it played.
type wecomRecord struct {
	jwxRecord
	Version string `json:"version"`
}

// wecomPage loads pageURL with the user agent ua and returns its record.
func wecomPage(t *testing.T, pageURL, ua string) wecomRecord {
	t.Helper()
	dom, errs := browseJweixin(t, pageURL, ua)
	m := jwxPre.FindStringSubmatch(dom)
	if m == nil || strings.TrimSpace(m[1]) == "" {
		t.Fatalf("no record in the page:\n%s", dom)
	}
	if len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
	var r wecomRecord
	r.jwxRecord = parseJwxRecord(t, m[1])
	_ = json.Unmarshal([]byte(html.UnescapeString(m[1])), &r) // the version
	return r
}

// retriesOf returns the retry parameters of the page's config endpoint
// calls that had one, in order ("1", "config", "agent", …).
func (r wecomRecord) retriesOf() []string {
	var out []string
	for _, u := range r.Endpoint {
		if i := strings.Index(u, "&retry="); i >= 0 {
			out = append(out, u[i+len("&retry="):])
		}
	}
	return out
}

// checkedFor returns the URLs (without siteURL) the bridge checked invokes of
// name for, in order.
func (r wecomRecord) checkedFor(name string) []string {
	var out []string
	for _, i := range r.Invokes {
		if i.Name == name {
			out = append(out, strings.TrimPrefix(i.URL, siteURL))
		}
	}
	return out
}
