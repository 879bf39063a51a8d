package integration_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const configPath = "/.well-known/wechat-jssdk/config"

func TestConfigEndpoint(t *testing.T) {
	// The directive's matcher covers /pay/* only, and an SPA fallback
	// rewrites every unknown path: the endpoint must answer all the same.
	site := `
http://` + siteAddr + ` {
	wechat_jssdk /pay/* {
		app_id          ` + testAppID + `
		app_secret      ` + testSecret + `
		api_base        ` + sandURL + `
		config_endpoint ` + configPath + `
	}
	root * ` + siteRoot + `
	try_files {path} /index.html
	file_server
}
`
	startCaddy(t, globalOptions("")+sandboxSite+site)
	endpoint := func(page string) string { return siteURL + configPath + "?url=" + url.QueryEscape(page) }

	for _, tc := range []struct {
		name, page, signed string
	}{
		{"page with query", siteURL + "/pay/order.html?order=42&x=%E4%BD%A0", ""},
		{"SPA route outside the matcher", siteURL + "/app/orders/7", ""},
		{"fragment stripped", siteURL + "/spa/#/route?x=1", siteURL + "/spa/"},
		{"origin normalized as location.href shows it", "HTTP://LocalHost:9080/Pay?A=1", siteURL + "/Pay?A=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, http.MethodGet, endpoint(tc.page))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if resp.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("headers %v", resp.Header)
			}
			var c wxConfig
			if err := json.Unmarshal([]byte(body), &c); err != nil {
				t.Fatalf("not JSON: %v: %s", err, body)
			}
			want := tc.signed
			if want == "" {
				want = tc.page
			}
			if c.URL != want || c.AppID != testAppID || len(c.JSAPIList) == 0 {
				t.Errorf("config %+v, want url %q", c, want)
			}
			if ok, msg := verify(t, c, want); !ok {
				t.Errorf("sandbox rejects the endpoint's signature for %s: %s", want, msg)
			}
		})
	}

	for _, tc := range []struct {
		name, method, target string
		status               int
	}{
		{"missing url", http.MethodGet, siteURL + configPath, http.StatusBadRequest},
		{"relative url", http.MethodGet, endpoint("/pay/order.html"), http.StatusBadRequest},
		{"not http", http.MethodGet, endpoint("javascript:alert(1)"), http.StatusBadRequest},
		{"no path", http.MethodGet, endpoint(siteURL + "?x=1"), http.StatusBadRequest},
		{"user info", http.MethodGet, endpoint("http://evil@" + siteAddr + "/"), http.StatusBadRequest},
		{"foreign origin", http.MethodGet, endpoint("https://evil.example/pay/"), http.StatusForbidden},
		{"other scheme", http.MethodGet, endpoint("https://" + siteAddr + "/pay/"), http.StatusForbidden},
		{"other port", http.MethodGet, endpoint("http://localhost:9999/pay/"), http.StatusForbidden},
		{"POST", http.MethodPost, endpoint(siteURL + "/"), http.StatusMethodNotAllowed},
		{"DELETE", http.MethodDelete, endpoint(siteURL + "/"), http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, tc.method, tc.target)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error == "" {
				t.Errorf("error body is not {\"error\":…}: %q", body)
			}
			if tc.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestConfigEndpointWithoutTicket(t *testing.T) {
	site := `
http://` + siteAddr + ` {
	wechat_jssdk {
		app_id          ` + testAppID + `
		app_secret      ` + testSecret + `
		api_base        http://127.0.0.1:1
		config_endpoint ` + configPath + `
		timeout         1s
	}
	respond "ok"
}
`
	startCaddy(t, globalOptions("")+site)
	resp, body := get(t, http.MethodGet, siteURL+configPath+"?url="+url.QueryEscape(siteURL+"/"))
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, `"error"`) {
		t.Errorf("status %d body %q, want 503 with a JSON error", resp.StatusCode, body)
	}
}
