package sandbox

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const (
	siteOrigin    = "http://site.test:8080"
	hostileOrigin = "http://evil.test"
)

// controlCalls are the control calls, each with a body it accepts.
var controlCalls = []struct{ path, body string }{
	{pathFault, `{"endpoint":"token","errcode":45009}`},
	{pathChaos, `{}`},
	{pathReset, `{}`},
	{pathRotate, `{}`},
}

// corsHeaders returns the Access-Control-* headers of an answer.
func corsHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out[k] = v
		}
	}
	return out
}

// TestControlCallsPOSTJSONOnly: the control calls take a JSON POST and
// nothing else, and never answer with CORS headers, whatever the Origin
// and even for an allow_origin origin.
func TestControlCallsPOSTJSONOnly(t *testing.T) {
	for _, c := range controlCalls {
		for _, tc := range []struct {
			name, method, contentType, body string
			status                          int
		}{
			{"JSON", http.MethodPost, "application/json", c.body, http.StatusOK},
			{"JSON with charset", http.MethodPost, "application/json; charset=utf-8", c.body, http.StatusOK},
			{"JSON in capitals", http.MethodPost, "Application/JSON", c.body, http.StatusOK},
			{"GET", http.MethodGet, "", "", http.StatusMethodNotAllowed},
			{"HEAD", http.MethodHead, "", "", http.StatusMethodNotAllowed},
			{"PUT", http.MethodPut, "application/json", c.body, http.StatusMethodNotAllowed},
			{"DELETE", http.MethodDelete, "", "", http.StatusMethodNotAllowed},
			{"OPTIONS preflight", http.MethodOptions, "", "", http.StatusMethodNotAllowed},
			{"form", http.MethodPost, "application/x-www-form-urlencoded", "endpoint=token&errcode=45009", http.StatusUnsupportedMediaType},
			{"form carrying JSON", http.MethodPost, "application/x-www-form-urlencoded", c.body, http.StatusUnsupportedMediaType},
			{"multipart", http.MethodPost, "multipart/form-data; boundary=b", "--b--\r\n", http.StatusUnsupportedMediaType},
			{"text/plain carrying JSON", http.MethodPost, "text/plain", c.body, http.StatusUnsupportedMediaType},
			{"no Content-Type", http.MethodPost, "", c.body, http.StatusUnsupportedMediaType},
			{"JSON look-alike", http.MethodPost, "application/json-patch+json", c.body, http.StatusUnsupportedMediaType},
			{"malformed Content-Type", http.MethodPost, "application/json; =", c.body, http.StatusUnsupportedMediaType},
			{"JSON but not an object of its options", http.MethodPost, "application/json", `{"nope":1}`, http.StatusBadRequest},
			{"JSON but empty", http.MethodPost, "application/json", ``, http.StatusBadRequest},
		} {
			t.Run(c.path+" "+tc.name, func(t *testing.T) {
				h, _ := newTestHandler(t)
				h.AllowOrigins = []string{siteOrigin}
				for _, origin := range []string{hostileOrigin, siteOrigin} {
					req := httptest.NewRequest(tc.method, c.path, strings.NewReader(tc.body))
					req.Header.Set("Origin", origin)
					req.Header.Set("Access-Control-Request-Method", http.MethodPost)
					req.Header.Set("Access-Control-Request-Headers", "content-type")
					if tc.contentType != "" {
						req.Header.Set("Content-Type", tc.contentType)
					}
					rec := httptest.NewRecorder()
					if err := h.ServeHTTP(rec, req, nil); err != nil {
						t.Fatal(err)
					}
					if rec.Code != tc.status {
						t.Errorf("Origin %s: status %d, want %d: %s", origin, rec.Code, tc.status, rec.Body)
					}
					if tc.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "POST" {
						t.Errorf("Allow %q, want POST", rec.Header().Get("Allow"))
					}
					if got := corsHeaders(rec.Header()); len(got) != 0 {
						t.Errorf("Origin %s: CORS headers on a control call: %v", origin, got)
					}
				}
				// a refused call changed nothing: no fault, no chaos
				if tc.status != http.StatusOK {
					if d := decide(h.state); d != (chaosVerdict{}) {
						t.Errorf("a refused call set chaos: %+v", d)
					}
					classicToken(t, h)
				}
			})
		}
	}
}

// TestStubChecksCORS: only the stub's two checks are readable from another
// origin, and only from an allow_origin one; nothing else ever is.
func TestStubChecksCORS(t *testing.T) {
	all := []string{pathVerify, pathPayVerify, pathStats, pathJweixin, pathV3JSAPI, pathDemoOrders, pathPayNotified, pathToken, pathOAuthAuthorize, "/sandbox/unknown"}
	stub := map[string]bool{pathVerify: true, pathPayVerify: true}
	for _, tc := range []struct {
		name    string
		allowed []string
		origin  string
		want    bool // the stub checks answer Access-Control-Allow-Origin: origin
	}{
		{"no allow_origin, hostile", nil, hostileOrigin, false},
		{"no allow_origin, the site", nil, siteOrigin, false},
		{"allowed site", []string{"http://other.test", siteOrigin}, siteOrigin, true},
		{"allowed site, other case", []string{"HTTP://SITE.test:8080"}, siteOrigin, true},
		{"hostile", []string{siteOrigin}, hostileOrigin, false},
		{"the site on another port", []string{siteOrigin}, "http://site.test:8081", false},
		{"the site over https", []string{siteOrigin}, "https://site.test:8080", false},
		{"a suffix of the site", []string{siteOrigin}, siteOrigin + ".evil.test", false},
		{"null origin", []string{siteOrigin}, "null", false},
		{"no Origin", []string{siteOrigin}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newTestHandler(t)
			h.AllowOrigins = tc.allowed
			for _, p := range all {
				for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodOptions} {
					req := httptest.NewRequest(method, p, strings.NewReader(`{}`))
					req.Header.Set("Content-Type", "text/plain")
					if tc.origin != "" {
						req.Header.Set("Origin", tc.origin)
					}
					rec := httptest.NewRecorder()
					if err := h.ServeHTTP(rec, req, nil); err != nil {
						t.Fatal(err)
					}
					got := corsHeaders(rec.Header())
					want := http.Header{}
					if tc.want && stub[p] {
						want.Set("Access-Control-Allow-Origin", tc.origin)
					}
					if len(got) != len(want) || got.Get("Access-Control-Allow-Origin") != want.Get("Access-Control-Allow-Origin") {
						t.Errorf("%s %s: CORS headers %v, want %v", method, p, got, want)
					}
					if vary := rec.Header().Get("Vary"); stub[p] && len(tc.allowed) > 0 && vary != "Origin" {
						t.Errorf("%s %s: Vary %q, want Origin", method, p, vary)
					}
					// (the WeChat endpoints answer 200 with an errcode, as WeChat does;
					// without CORS headers that is no preflight either)
					if method == http.MethodOptions && strings.HasPrefix(p, "/sandbox/") && rec.Code < 300 {
						t.Errorf("OPTIONS %s answered %d: the sandbox answers no preflight", p, rec.Code)
					}
				}
			}
		})
	}
}

func TestAllowOriginsValidate(t *testing.T) {
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"http://localhost:8080", true},
		{"https://shop.example.com", true},
		{"http://[::1]:9080", true},
		{"*", false},
		{"null", false},
		{"localhost:8080", false},
		{"http://localhost:8080/", false},
		{"http://localhost:8080/page", false},
		{"http://u:p@localhost:8080", false},
		{"http://localhost:8080?x", false},
		{"ftp://localhost", false},
	} {
		t.Run(tc.origin, func(t *testing.T) {
			h := &Handler{AppID: "wx1", AppSecret: "s", AllowOrigins: []string{tc.origin}}
			err := h.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tc.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "wechat_sandbox: allow_origins: ") {
				t.Errorf("error %q does not name allow_origins", err)
			}
			if err != nil && strings.Contains(err.Error(), ":p@") {
				t.Errorf("error %q repeats user info", err)
			}
		})
	}
}

// TestStartupWarning: every Provision warns that the sandbox is for demos
// and tests, without logging its secrets.
func TestStartupWarning(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	t.Setenv("SANDBOX_TEST_API_KEY", "leakcanary-api-key")
	h := &Handler{AppID: "wx-" + t.Name(), AppSecret: testSecret, APIKey: "{env.SANDBOX_TEST_API_KEY}",
		AllowOrigins: []string{siteOrigin}, logger: zap.New(core), now: newFakeClock().now}
	provision(t, h)
	var warns []observer.LoggedEntry
	for _, e := range logs.All() {
		if e.Level == zapcore.WarnLevel {
			warns = append(warns, e)
		}
		if s := fmt.Sprint(e.Message, e.ContextMap()); strings.Contains(s, testSecret) || strings.Contains(s, "leakcanary") {
			t.Errorf("log shows a secret: %s", s)
		}
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Message, "for demos and tests only, never for production") {
		t.Fatalf("want one startup warning, got %v", warns)
	}
	if got := warns[0].ContextMap()["app_id"]; got != h.AppID {
		t.Errorf("app_id field %v", got)
	}
}
