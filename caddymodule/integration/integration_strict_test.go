package integration_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

// Strict pages without a browser: what the response carries. The browser
// tests (integration_browser_test.go) prove the same pages run.
func TestStrictPagesHeadersAndBytes(t *testing.T) {
	startCaddy(t, globalOptions("")+sandboxSite+browserSite("config_endpoint "+configPath))

	t.Run("CSP without nonce gains the boot hash in a new script-src", func(t *testing.T) {
		resp, body := get(t, http.MethodGet, siteURL+"/csp.html")
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.HasPrefix(csp, "default-src 'self'; connect-src 'self' "+sandURL+"; script-src 'self' 'sha256-") ||
			!strings.HasSuffix(csp, "' "+sandURL) {
			t.Errorf("CSP %q", csp)
		}
		if strings.Contains(body, `<script id="wechat-jssdk-boot" nonce=`) {
			t.Error("a nonce attribute without a nonce in the policy")
		}
	})
	t.Run("CSP with nonce: the boot script carries it", func(t *testing.T) {
		resp, body := get(t, http.MethodGet, siteURL+"/csp-nonce.html")
		if !strings.Contains(body, `<script id="wechat-jssdk-boot" nonce="e2eNonce0123456789">`) {
			t.Errorf("boot script without the page's nonce:\n%s", body)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "sha256") {
			t.Errorf("a hash was added although the nonce and strict-dynamic suffice: %q", csp)
		}
	})
	t.Run("GBK page: only ASCII injected, the page's bytes intact", func(t *testing.T) {
		page, err := os.ReadFile(repoPath("testdata/e2e/gbk.html"))
		if err != nil {
			t.Fatal(err)
		}
		// a raw non-ASCII query byte sequence, as some clients send
		_, body := get(t, http.MethodGet, siteURL+"/gbk.html?name=%E5%BE%AE")
		raw := rawRequestTarget(t, "/gbk.html?name=\xe5\xbe\xae")
		for _, b := range []string{body, raw} {
			start := strings.Index(b, `<script id="wechat-jssdk-config"`)
			if start < 0 {
				t.Fatalf("no block:\n%s", b)
			}
			injected := b[start : start+len(b)-len(stripBlock(b))]
			for i := 0; i < len(injected); i++ {
				if injected[i] >= 0x80 {
					t.Fatalf("non-ASCII byte %#x injected into a GBK page at %d: %q", injected[i], i, injected)
				}
			}
			if stripBlock(b) != string(page) {
				t.Error("the GBK page changed beyond the block")
			}
		}
		c := injectedConfig(t, raw)
		if c.URL != siteURL+"/gbk.html?name=\xe5\xbe\xae" {
			t.Errorf("signed url %q", c.URL)
		}
		if ok, msg := verify(t, c, c.URL); !ok {
			t.Errorf("sandbox rejects: %s", msg)
		}
	})
}
