package integration_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-wechat/jssdk"
)

// repoRoot is the repository's root directory, where the fixtures are:
// testdata/, Caddyfile.example, xcaddy.json, go.mod. go test runs a
// package's tests in the package's directory, below it.
var repoRoot = findRepoRoot()

// findRepoRoot walks up from the working directory to the nearest go.mod.
func findRepoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			panic("no go.mod in " + wd + " or above it")
		}
	}
}

// repoPath turns rel, a slash-separated path from the repository root,
// into an absolute path.
func repoPath(rel string) string {
	return filepath.Join(repoRoot, filepath.FromSlash(rel))
}

// The sites the test Caddyfiles serve, as absolute paths: the in-process
// Caddy resolves a relative root against the working directory.
var (
	siteRoot = repoPath("testdata/site") // the demo site
	e2eRoot  = repoPath("testdata/e2e")  // the Chromium tests' pages
)

// noSkipEnv turns every skip into a failure. .ci/run sets it: a skipped
// integration test is not a passed one.
const noSkipEnv = "JSSDK_NO_SKIP"

// failSkips makes a skip of t fail when noSkipEnv is set. caddytest skips
// itself when it cannot start Caddy or under -short.
func failSkips(t testing.TB) {
	t.Helper()
	t.Cleanup(func() {
		if t.Skipped() && os.Getenv(noSkipEnv) != "" {
			t.Errorf("skipped with %s set: a skipped test is not a passed one", noSkipEnv)
		}
	})
}

const (
	testAppID  = "wx0123456789abcdef"
	testSecret = "integration-test-secret-7f3a9c"
	siteAddr   = "localhost:9080"
	sandAddr   = "localhost:9081"
	siteURL    = "http://" + siteAddr
	sandURL    = "http://" + sandAddr
)

// globalOptions is the head of every test Caddyfile; extra goes inside it.
func globalOptions(extra string) string {
	return fmt.Sprintf(`{
	admin localhost:2999
	auto_https off
	grace_period 1ns
	%s
}
`, extra)
}

// sandboxSite is a site block running the sandbox for testAppID. The
// Chromium tests' pages (siteURL) may read its stub checks.
const sandboxSite = `
http://` + sandAddr + `, http://127.0.0.1:9081 {
	wechat_sandbox {
		app_id     ` + testAppID + `
		app_secret ` + testSecret + `
		allow_origin ` + siteURL + `
	}
}
`

// startCaddy loads a Caddyfile into the in-process Caddy shared by the tests.
func startCaddy(t *testing.T, caddyfile string) *caddytest.Tester {
	t.Helper()
	failSkips(t)
	tester := caddytest.NewTester(t)
	tester.InitServer(caddyfile, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	return tester
}

// wxConfig is the JSON data block the handler injects.
type wxConfig struct {
	Debug       bool     `json:"debug"`
	AppID       string   `json:"appId"`
	Timestamp   int64    `json:"timestamp"`
	NonceStr    string   `json:"nonceStr"`
	Signature   string   `json:"signature"`
	JSAPIList   []string `json:"jsApiList"`
	OpenTagList []string `json:"openTagList"`
	URL         string   `json:"url"`
}

var configBlock = regexp.MustCompile(`<script id="wechat-jssdk-config" type="application/json">([^<]*)</script>`)

// injectedConfig returns the one injected block of body; it fails the test
// when there is none or more than one.
func injectedConfig(t *testing.T, body string) wxConfig {
	t.Helper()
	m := configBlock.FindAllStringSubmatch(body, -1)
	if len(m) != 1 {
		t.Fatalf("want exactly one injected config block, found %d in:\n%s", len(m), body)
	}
	var c wxConfig
	if err := json.Unmarshal([]byte(m[0][1]), &c); err != nil {
		t.Fatalf("injected config is not JSON: %v\n%s", err, m[0][1])
	}
	return c
}

// verify asks the sandbox whether c is a valid signature for pageURL.
func verify(t *testing.T, c wxConfig, pageURL string) (bool, string) {
	t.Helper()
	return verifyAt(t, sandURL, c, pageURL)
}

// verifyAt asks the sandbox at base whether c is valid for pageURL.
func verifyAt(t *testing.T, base string, c wxConfig, pageURL string) (bool, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"appId": c.AppID, "timestamp": c.Timestamp, "nonceStr": c.NonceStr,
		"signature": c.Signature, "url": pageURL,
	})
	resp, err := http.Post(base+"/sandbox/verify", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("sandbox verify: %v", err)
	}
	defer resp.Body.Close()
	var r struct {
		OK     bool   `json:"ok"`
		ErrMsg string `json:"errmsg"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("sandbox verify answer: %v", err)
	}
	return r.OK, r.ErrMsg
}

// sandboxStats returns the sandbox's per-endpoint call counts.
func sandboxStats(t *testing.T) map[string]int {
	t.Helper()
	return sandboxStatsAt(t, sandURL)
}

// sandboxStatsAt returns the per-endpoint call counts of the sandbox at base.
func sandboxStatsAt(t *testing.T, base string) map[string]int {
	t.Helper()
	resp, err := http.Get(base + "/sandbox/stats")
	if err != nil {
		t.Fatalf("sandbox stats: %v", err)
	}
	defer resp.Body.Close()
	// The counts are the top-level numbers; a sandbox that plays a WeCom
	// corp adds a nested "wecom" object, read by wecomStats.
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatalf("sandbox stats: %v", err)
	}
	m := make(map[string]int, len(raw))
	for k, v := range raw {
		var n int
		if json.Unmarshal(v, &n) == nil {
			m[k] = n
		}
	}
	return m
}

// get fetches rawURL with optional header pairs and returns the response
// with its body read.
func get(t *testing.T, method, rawURL string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if strings.EqualFold(headers[i], "Host") {
			req.Host = headers[i+1]
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{
		Transport: &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, rawURL, err)
	}
	return resp, string(b)
}

// rawRequestTarget sends a request whose target is written byte for byte,
// which net/http's client would otherwise normalize.
func rawRequestTarget(t *testing.T, target string) string {
	t.Helper()
	u, _ := url.Parse(siteURL)
	req, _ := http.NewRequest(http.MethodGet, siteURL, nil)
	req.URL = &url.URL{Scheme: u.Scheme, Host: u.Host, Opaque: target}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
