package integration_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
)

// TestOnErrorFailBehindReverseProxy: with on_error fail, a page that
// reverse_proxy brings while WeChat is unreachable is answered with a
// complete 503 over HTTP/1.1 and HTTP/2, rendered by handle_errors. (A
// refused page's body writes used to fail, which made reverse_proxy abort:
// an empty reply on HTTP/1.1, a reset stream on HTTP/2, and handle_errors
// never ran.)
func TestOnErrorFailBehindReverseProxy(t *testing.T) {
	page := "<!DOCTYPE html><html><head><title>app</title></head><body>" +
		strings.Repeat("<p>from the app</p>", 4096) + "</body></html>" // 76 KB: several body writes
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/style.css" {
			w.Header().Set("Content-Type", "text/css")
			io.WriteString(w, "p{}")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	defer upstream.Close()
	startCaddy(t, globalOptions("servers {\n\t\tprotocols h1 h2c\n\t}")+`
http://`+siteAddr+` {
	wechat_jssdk {
		app_id     `+testAppID+`
		app_secret `+testSecret+`
		api_base   http://127.0.0.1:1
		timeout    1s
		on_error   fail
	}
	reverse_proxy `+strings.TrimPrefix(upstream.URL, "http://")+`
	handle_errors {
		respond "custom {err.status_code}"
	}
}
`)
	for _, tc := range []struct {
		name   string
		client *http.Client
		proto  int
	}{
		{"HTTP/1.1", h1OnlyClient, 1},
		{"HTTP/2 (h2c)", h2cOnlyClient, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 2 { // the second request meets the store's backoff
				resp, body, err := protoFetch(tc.client, headerRequest(t, siteURL+"/app/page", ""))
				if err != nil {
					t.Fatalf("request %d: the connection was dropped instead of answered: %v", i, err)
				}
				if resp.ProtoMajor != tc.proto {
					t.Fatalf("request %d: answered over %s", i, resp.Proto)
				}
				if resp.StatusCode != http.StatusServiceUnavailable || body != "custom 503" {
					t.Errorf("request %d: %d %q, want 503 with handle_errors' body", i, resp.StatusCode, body)
				}
			}
			// what is not a page is not refused
			resp, body, err := protoFetch(tc.client, headerRequest(t, siteURL+"/style.css", ""))
			if err != nil {
				t.Fatalf("stylesheet: %v", err)
			}
			if resp.StatusCode != http.StatusOK || body != "p{}" {
				t.Errorf("stylesheet: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// TestHostPortNotSigned: Caddy's host matcher ignores the port, so a
// request to the site on :9080 may say Host localhost:9999 (or localhost,
// port 80). Nothing is signed for such an origin: the config endpoint
// answers 403 and the page is served without the block, counted as
// passed/host_port. On a catch-all site an absolute-form target on
// another port is refused the same way.
func TestHostPortNotSigned(t *testing.T) {
	page, err := os.ReadFile(repoPath("testdata/site/pay/order.html"))
	if err != nil {
		t.Fatal(err)
	}
	site := func(addr string) string {
		return `
` + addr + ` {
	wechat_jssdk {
		app_id          ` + testAppID + `
		app_secret      ` + testSecret + `
		api_base        ` + sandURL + `
		config_endpoint ` + configPath + `
	}
	root * ` + siteRoot + `
	file_server
}
`
	}
	endpoint := func(pageURL string) string { return configPath + "?url=" + url.QueryEscape(pageURL) }

	t.Run("site with a host", func(t *testing.T) {
		startCaddy(t, globalOptions("")+sandboxSite+site("http://"+siteAddr))
		before := scrape(t)[`caddy_wechat_injections_total{reason="host_port",result="passed"}`]

		// the port the request came in on: signed
		resp, body := get(t, http.MethodGet, siteURL+"/pay/order.html")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if ok, msg := verify(t, injectedConfig(t, body), siteURL+"/pay/order.html"); !ok {
			t.Errorf("sandbox rejects the page's own origin: %s", msg)
		}
		resp, body = get(t, http.MethodGet, siteURL+endpoint(siteURL+"/pay/order.html"))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("endpoint on the listener's port: %d %s", resp.StatusCode, body)
		}

		for _, host := range []string{"localhost:9999", "localhost", "LOCALHOST:80"} {
			t.Run("Host "+host, func(t *testing.T) {
				resp, body := get(t, http.MethodGet, siteURL+"/pay/order.html", "Host", host)
				if resp.StatusCode != http.StatusOK || hasConfigBlock(body) || body != string(page) {
					t.Errorf("page: %d, block %v: want the page unmodified", resp.StatusCode, hasConfigBlock(body))
				}
				claimed := "http://" + strings.ToLower(strings.TrimSuffix(host, ":80"))
				resp, body = get(t, http.MethodGet, siteURL+endpoint(claimed+"/pay/order.html"), "Host", host)
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"error"`) {
					t.Errorf("endpoint: %d %.120s, want 403", resp.StatusCode, body)
				}
			})
		}
		if got := scrape(t)[`caddy_wechat_injections_total{reason="host_port",result="passed"}`] - before; got != 3 {
			t.Errorf("passed/host_port grew by %v, want 3", got)
		}
	})

	t.Run("catch-all site", func(t *testing.T) {
		startCaddy(t, globalOptions("")+sandboxSite+site("http://:9080"))
		// absolute-form: net/http takes the target's host as the Host
		resp, body := rawTargetGet(t, siteAddr, "http://evil.example:9999/pay/order.html", siteAddr)
		if resp.StatusCode != http.StatusOK || hasConfigBlock(body) {
			t.Errorf("absolute-form on another port: %d, block %v: want the page unmodified", resp.StatusCode, hasConfigBlock(body))
		}
		resp, body = rawTargetGet(t, siteAddr, "http://evil.example:9999"+endpoint("http://evil.example:9999/"), siteAddr)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("endpoint, absolute-form on another port: %d %.120s, want 403", resp.StatusCode, body)
		}
		resp, body = rawTargetGet(t, siteAddr, endpoint("http://evil.example/"), "evil.example")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("endpoint, Host evil.example (port 80) on :9080: %d %.120s, want 403", resp.StatusCode, body)
		}
	})
}

// TestForwardedHostListFromTrustedProxy: from a trusted proxy, the
// rightmost X-Forwarded-Host / -Proto value (across all header lines) is
// the one signed for, the one the proxy set; values left of it came from
// the client and cannot choose the origin. A trusted proxy's forwarded
// host is not port-checked: its port is the proxy's listener's.
func TestForwardedHostListFromTrustedProxy(t *testing.T) {
	startCaddy(t, globalOptions("servers {\n\t\ttrusted_proxies static 127.0.0.1/8\n\t}")+sandboxSite+`
http://`+siteAddr+` {
	wechat_jssdk {
		app_id          `+testAppID+`
		app_secret      `+testSecret+`
		api_base        `+sandURL+`
		config_endpoint `+configPath+`
	}
	root * `+siteRoot+`
	file_server
}
`)
	// from 127.0.0.1, the trusted proxy (localhost may resolve to ::1)
	const via = "http://127.0.0.1:9080"
	for _, tc := range []struct {
		name    string
		headers []string
		signed  string // the page's origin
	}{
		{"comma-separated", []string{"X-Forwarded-Host", "evil.example, shop.example"}, "http://shop.example"},
		{"two header lines", []string{"X-Forwarded-Host", "evil.example", "X-Forwarded-Host", "shop.example"}, "http://shop.example"},
		{"proto list: the proxy says http", []string{"X-Forwarded-Proto", "https, http", "X-Forwarded-Host", "shop.example"},
			"http://shop.example"},
		{"proto list: the proxy says https", []string{"X-Forwarded-Proto", "http", "X-Forwarded-Proto", "https",
			"X-Forwarded-Host", "evil.example:8080, shop.example"}, "https://shop.example"},
		{"forwarded port is not checked", []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "shop.example:8443"},
			"https://shop.example:8443"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body, err := protoFetch(h1OnlyClient, headerRequest(t, via+"/pay/order.html?x=1", siteAddr, tc.headers...))
			if err != nil {
				t.Fatalf("page: %v", err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("page: status %d", resp.StatusCode)
			}
			c := injectedConfig(t, body)
			if want := tc.signed + "/pay/order.html?x=1"; c.URL != want {
				t.Errorf("page signed for %q, want %q", c.URL, want)
			} else if ok, msg := verify(t, c, want); !ok {
				t.Errorf("sandbox rejects: %s", msg)
			}

			for _, claim := range []struct {
				origin string
				status int
			}{{"http://evil.example", http.StatusForbidden}, {tc.signed, http.StatusOK}} {
				target := via + configPath + "?url=" + url.QueryEscape(claim.origin+"/pay/")
				resp, body, err := protoFetch(h1OnlyClient, headerRequest(t, target, siteAddr, tc.headers...))
				if err != nil {
					t.Fatalf("endpoint for %s: %v", claim.origin, err)
				}
				if resp.StatusCode != claim.status {
					t.Errorf("endpoint for %s: %d %.120s, want %d", claim.origin, resp.StatusCode, body, claim.status)
					continue
				}
				if claim.status == http.StatusOK {
					var c wxConfig
					if err := json.Unmarshal([]byte(body), &c); err != nil || c.URL != claim.origin+"/pay/" {
						t.Errorf("endpoint answer %s: %v", body, err)
					}
				}
			}
		})
	}
}
