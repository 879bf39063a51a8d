package integration_test

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

// fileServerSite serves testdata/site with wechat_jssdk in front.
func fileServerSite(opts string) string {
	return `
http://` + siteAddr + ` {
	wechat_jssdk {
		app_id     ` + testAppID + `
		app_secret ` + testSecret + `
		api_base   ` + sandURL + `
		` + opts + `
	}
	root * ` + siteRoot + `
	file_server
}
`
}

func TestFileServerInjectsVerifiableSignature(t *testing.T) {
	startCaddy(t, globalOptions("")+sandboxSite+fileServerSite(""))

	for _, target := range []string{
		"/",
		"/index.html",
		"/pay/order.html?order=42&from=demo&x=%E4%BD%A0",
		"/pay/order.html?a=1&a=2&empty=&q=a%20b+c",
	} {
		t.Run(target, func(t *testing.T) {
			resp, body := get(t, http.MethodGet, siteURL+target)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			c := injectedConfig(t, body)
			want := siteURL + target
			if c.URL != want {
				t.Errorf("signed url %q, want %q", c.URL, want)
			}
			if ok, msg := verify(t, c, want); !ok {
				t.Errorf("sandbox rejects the signature for %s: %s", want, msg)
			}
			if c.AppID != testAppID || c.Debug {
				t.Errorf("config %+v", c)
			}
			if i, j := strings.Index(body, `id="wechat-jssdk-config"`), strings.Index(strings.ToLower(body), "</head>"); i < 0 || i > j {
				t.Errorf("block not before </head>: block at %d, </head> at %d", i, j)
			}
			if resp.Header.Get("Content-Length") != "" || resp.Header.Get("Accept-Ranges") != "" {
				t.Errorf("stale length headers: %v", resp.Header)
			}
			if et := resp.Header.Get("Etag"); !strings.HasPrefix(et, `W/"`) {
				t.Errorf("ETag %q is not weak", et)
			}
			// the page itself is intact around the block
			page, err := os.ReadFile(repoPath("testdata/site/pay/order.html"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(target, "/pay/") && stripBlock(body) != string(page) {
				t.Errorf("page changed beyond the block:\n%s", body)
			}
		})
	}
}

// stripBlock removes the injected config and boot scripts from body.
func stripBlock(body string) string {
	start := strings.Index(body, `<script id="wechat-jssdk-config"`)
	if start < 0 {
		return body
	}
	bootEnd := strings.Index(body[start:], `<script id="wechat-jssdk-boot"`)
	if bootEnd < 0 {
		return body
	}
	end := strings.Index(body[start+bootEnd:], "</script>")
	return body[:start] + body[start+bootEnd+end+len("</script>"):]
}

func TestFileServerPassesThroughWhatIsNotAPage(t *testing.T) {
	startCaddy(t, globalOptions("")+sandboxSite+fileServerSite(""))

	css, err := os.ReadFile(repoPath("testdata/site/style.css"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(repoPath("testdata/site/pay/order.html"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("stylesheet", func(t *testing.T) {
		resp, body := get(t, http.MethodGet, siteURL+"/style.css")
		if body != string(css) || resp.Header.Get("Content-Length") == "" {
			t.Errorf("stylesheet changed: %d bytes, headers %v", len(body), resp.Header)
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		resp, body := get(t, http.MethodHead, siteURL+"/pay/order.html")
		if body != "" || resp.Header.Get("Content-Length") == "" || strings.HasPrefix(resp.Header.Get("Etag"), "W/") {
			t.Errorf("HEAD was touched: %q %v", body, resp.Header)
		}
	})
	t.Run("304", func(t *testing.T) {
		resp, _ := get(t, http.MethodGet, siteURL+"/pay/order.html")
		etag := resp.Header.Get("Etag")
		resp, body := get(t, http.MethodGet, siteURL+"/pay/order.html", "If-None-Match", etag)
		if resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("revalidation with %s: status %d body %q", etag, resp.StatusCode, body)
		}
	})
	t.Run("206", func(t *testing.T) {
		resp, body := get(t, http.MethodGet, siteURL+"/pay/order.html", "Range", "bytes=0-99")
		if resp.StatusCode != http.StatusPartialContent || body != string(page[:100]) {
			t.Errorf("range: status %d body %q", resp.StatusCode, body)
		}
	})
	t.Run("404", func(t *testing.T) {
		resp, body := get(t, http.MethodGet, siteURL+"/missing.html")
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "wechat-jssdk") {
			t.Errorf("404: status %d body %q", resp.StatusCode, body)
		}
	})
}

func TestScriptInURLStaysInert(t *testing.T) {
	startCaddy(t, globalOptions("")+sandboxSite+fileServerSite(""))

	target := "/pay/order.html?q=%3C/script%3E&raw=</script><script>alert(1)</script>&ls=\u2028"
	body := rawRequestTarget(t, target)
	if strings.Contains(body, "<script>alert(1)") || strings.Contains(body, "alert(1)</script>") {
		t.Fatalf("the URL broke out of the JSON block:\n%s", body)
	}
	c := injectedConfig(t, body)
	if c.URL != siteURL+target {
		t.Errorf("signed url %q, want %q", c.URL, siteURL+target)
	}
	if ok, msg := verify(t, c, siteURL+target); !ok {
		t.Errorf("sandbox rejects the signature: %s", msg)
	}
}

func TestForwardedHeadersOnlyFromTrustedProxies(t *testing.T) {
	const page = "/pay/order.html?x=1"
	headers := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "pay.example.com"}

	t.Run("untrusted", func(t *testing.T) {
		startCaddy(t, globalOptions("")+sandboxSite+fileServerSite(""))
		_, body := get(t, http.MethodGet, siteURL+page, headers...)
		if c := injectedConfig(t, body); c.URL != siteURL+page {
			t.Errorf("signed %q: forwarded headers from an untrusted peer were believed", c.URL)
		}
	})
	t.Run("trusted", func(t *testing.T) {
		startCaddy(t, globalOptions("servers {\n\t\ttrusted_proxies static 127.0.0.1/32 ::1/128\n\t}")+sandboxSite+fileServerSite(""))
		_, body := get(t, http.MethodGet, siteURL+page, headers...)
		c := injectedConfig(t, body)
		if c.URL != "https://pay.example.com"+page {
			t.Errorf("signed %q, want the forwarded origin", c.URL)
		}
		if ok, msg := verify(t, c, c.URL); !ok {
			t.Errorf("sandbox rejects: %s", msg)
		}
	})
	t.Run("public_origin", func(t *testing.T) {
		startCaddy(t, globalOptions("")+sandboxSite+fileServerSite("public_origin https://Shop.Example.com:443"))
		_, body := get(t, http.MethodGet, siteURL+page, headers...)
		if c := injectedConfig(t, body); c.URL != "https://shop.example.com"+page {
			t.Errorf("signed %q, want public_origin", c.URL)
		}
	})
}
