package jssdk

import (
	"encoding/json"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/origin"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzSplitPageURL: an accepted page URL splits into a lower-case origin
// without a default port and a path kept byte for byte from the input.
func FuzzSplitPageURL(f *testing.F) {
	for _, s := range []string{"http://example.com/p?q=1", "HTTPS://Ex.COM:443/a%20b", "http://[::1]:8080/",
		"http://a@b/", "javascript:alert(1)", "http://x?y", "https://例子.测试/路径?q=中"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		origin, rest, ok := splitPageURL(raw)
		if !ok {
			return
		}
		if !strings.HasPrefix(rest, "/") || !strings.HasSuffix(raw, rest) {
			t.Fatalf("rest %q is not the input's path and query (%q)", rest, raw)
		}
		if origin != strings.ToLower(origin) || strings.HasSuffix(origin, ":443") && strings.HasPrefix(origin, "https:") ||
			strings.HasSuffix(origin, ":80") && strings.HasPrefix(origin, "http:") {
			t.Fatalf("origin %q not normalized", origin)
		}
		if !strings.HasPrefix(origin, "http://") && !strings.HasPrefix(origin, "https://") {
			t.Fatalf("origin %q has another scheme", origin)
		}
		if o2, r2, ok2 := splitPageURL(origin + rest); !ok2 || o2 != origin || r2 != rest {
			t.Fatalf("not stable: %q -> %q %q -> %q %q %v", raw, origin, rest, o2, r2, ok2)
		}
	})
}

// FuzzConfigEndpoint drives the whole endpoint with any url parameter and
// Host: it never panics, answers only 200/400/403, and a 200 signs a URL on
// the request's own origin and nothing else.
func FuzzConfigEndpoint(f *testing.F) {
	for _, s := range []string{"http://example.com/p?q=1", "http://evil.example/", "HTTP://EXAMPLE.COM:80/a#b",
		"http://example.com@evil.example/", "http://example.com.evil.example/", "//example.com/x", "http://[::1]/"} {
		f.Add(s, "example.com")
	}
	h := newTestHandler(f, &fakeSource{}, func(h *Handler) { h.ConfigEndpoint = "/cfg" })
	f.Fuzz(func(t *testing.T, raw, host string) {
		if host == "" || strings.ContainsAny(host, "/?#@ \t\r\n\\") {
			return // net/http would refuse such a Host before any handler
		}
		r := httptest.NewRequest(http.MethodGet, "/cfg?url="+url.QueryEscape(raw), nil)
		r.Host = host
		rec := httptest.NewRecorder()
		if err := h.ServeHTTP(rec, r, failNext(t)); err != nil {
			t.Fatal(err)
		}
		switch rec.Code {
		case http.StatusBadRequest, http.StatusForbidden:
			return
		case http.StatusOK:
		default:
			t.Fatalf("status %d for %q", rec.Code, raw)
		}
		var c struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &c); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		origin := string(origin.Append(nil, r))
		if !strings.HasPrefix(c.URL, origin+"/") {
			t.Fatalf("signed %q for a request on %q (url=%q)", c.URL, origin, raw)
		}
	})
}
