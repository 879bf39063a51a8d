package jssdk

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// withTrust marks r as coming from a trusted proxy (or not) the way Caddy's
// server does: through the request's vars table.
func withTrust(r *http.Request, trusted bool) *http.Request {
	vars := map[string]any{caddyhttp.TrustedProxyVarKey: trusted}
	return r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, vars))
}

func TestAppendRequestOrigin(t *testing.T) {
	tests := []struct {
		name    string
		tls     bool
		host    string
		trusted *bool // nil: no vars table at all
		xfProto []string
		xfHost  []string
		want    string
	}{
		{name: "http", host: "example.com", want: "http://example.com"},
		{name: "https", tls: true, host: "example.com", want: "https://example.com"},
		{name: "http default port", host: "example.com:80", want: "http://example.com"},
		{name: "https default port", tls: true, host: "example.com:443", want: "https://example.com"},
		{name: "http on 443 keeps port", host: "example.com:443", want: "http://example.com:443"},
		{name: "https on 80 keeps port", tls: true, host: "example.com:80", want: "https://example.com:80"},
		{name: "non-default port", host: "example.com:8080", want: "http://example.com:8080"},
		{name: "port ending in 80", host: "example.com:8080", want: "http://example.com:8080"},
		{name: "port 180 is not 80", host: "example.com:180", want: "http://example.com:180"},
		{name: "upper-case host", tls: true, host: "WWW.Example.COM:8443", want: "https://www.example.com:8443"},
		{name: "ipv6 default port", host: "[::1]:80", want: "http://[::1]"},
		{name: "ipv6 other port", host: "[::1]:8080", want: "http://[::1]:8080"},

		{name: "forwarded headers ignored without vars", host: "example.com",
			xfProto: []string{"https"}, xfHost: []string{"evil.example"}, want: "http://example.com"},
		{name: "forwarded headers ignored from untrusted peer", host: "example.com", trusted: ptr(false),
			xfProto: []string{"https"}, xfHost: []string{"evil.example"}, want: "http://example.com"},
		{name: "trusted proxy", host: "10.0.0.2:8080", trusted: ptr(true),
			xfProto: []string{"https"}, xfHost: []string{"shop.example.com"}, want: "https://shop.example.com"},
		{name: "trusted proxy, default port stripped for forwarded scheme", host: "backend", trusted: ptr(true),
			xfProto: []string{"https"}, xfHost: []string{"Shop.Example.com:443"}, want: "https://shop.example.com"},
		{name: "trusted proxy, forwarded non-default port kept", host: "backend", trusted: ptr(true),
			xfProto: []string{"http"}, xfHost: []string{"shop.example.com:8000"}, want: "http://shop.example.com:8000"},
		{name: "trusted proxy, comma-separated: first wins", host: "backend", trusted: ptr(true),
			xfProto: []string{"https, http"}, xfHost: []string{" a.example.com , b.example.com"}, want: "https://a.example.com"},
		{name: "trusted proxy, several lines: first wins", host: "backend", trusted: ptr(true),
			xfProto: []string{"HTTPS", "http"}, xfHost: []string{"a.example.com", "b.example.com"}, want: "https://a.example.com"},
		{name: "trusted proxy says http over TLS", tls: true, host: "example.com", trusted: ptr(true),
			xfProto: []string{"http"}, want: "http://example.com"},
		{name: "trusted proxy, unknown proto ignored", tls: true, host: "example.com", trusted: ptr(true),
			xfProto: []string{"ftp"}, want: "https://example.com"},
		{name: "trusted proxy, only host", tls: true, host: "backend:443", trusted: ptr(true),
			xfHost: []string{"www.example.com"}, want: "https://www.example.com"},
		{name: "trusted proxy, only proto", host: "example.com:443", trusted: ptr(true),
			xfProto: []string{"https"}, want: "https://example.com"},
		{name: "trusted proxy, empty values ignored", host: "example.com", trusted: ptr(true),
			xfProto: []string{""}, xfHost: []string{" "}, want: "http://example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/p", nil)
			r.Host = tt.host
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.xfProto != nil {
				r.Header["X-Forwarded-Proto"] = tt.xfProto
			}
			if tt.xfHost != nil {
				r.Header["X-Forwarded-Host"] = tt.xfHost
			}
			if tt.trusted != nil {
				r = withTrust(r, *tt.trusted)
			}
			got := string(appendRequestOrigin([]byte("x"), r))
			if got != "x"+tt.want {
				t.Errorf("appendRequestOrigin = %q, want %q", got[1:], tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestRequestTarget(t *testing.T) {
	tests := []struct {
		name       string
		requestURI string
		url        string // r.URL after routing; defaults to requestURI
		original   *http.Request
		want       string
	}{
		{name: "path", requestURI: "/pay/order.html", want: "/pay/order.html"},
		{name: "root", requestURI: "/", want: "/"},
		{name: "query byte for byte", requestURI: "/s?q=a%26b&lang=zh_CN&x=%E4%B8%AD&empty=&plus=a+b&raw=中",
			want: "/s?q=a%26b&lang=zh_CN&x=%E4%B8%AD&empty=&plus=a+b&raw=中"},
		{name: "escaped path byte for byte", requestURI: "/caf%C3%A9/%7Euser/a%2Fb?", want: "/caf%C3%A9/%7Euser/a%2Fb?"},
		{name: "lower-case escapes kept", requestURI: "/a%2fb?x=%e4", want: "/a%2fb?x=%e4"},
		{name: "fragment dropped", requestURI: "/p?x=1#frag", want: "/p?x=1"},
		{name: "rewrite: the original is signed", requestURI: "/index.html", url: "/index.html",
			original: &http.Request{RequestURI: "/app/orders/42?from=menu&x=%20"}, want: "/app/orders/42?from=menu&x=%20"},
		{name: "original without RequestURI", requestURI: "/now", original: &http.Request{}, want: "/now"},
		{name: "absolute-form", requestURI: "http://example.com/p/q?a=1&b=%2F", url: "http://example.com/p/q?a=1&b=%2F",
			want: "/p/q?a=1&b=%2F"},
		{name: "absolute-form without path", requestURI: "http://example.com?a=1", url: "http://example.com?a=1",
			want: "/?a=1"},
		{name: "original in absolute-form", requestURI: "/index.html", url: "/index.html",
			original: &http.Request{RequestURI: "https://example.com/orig?x=1", URL: mustURL("https://example.com/orig?x=1")},
			want:     "/orig?x=1"},
		{name: "no RequestURI (handler called directly)", requestURI: "", url: "/direct?a=%41", want: "/direct?a=%41"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			if u == "" {
				u = tt.requestURI
			}
			r := &http.Request{Method: http.MethodGet, RequestURI: tt.requestURI, URL: mustURL(u), Header: http.Header{}}
			ctx := context.Background()
			if tt.original != nil {
				ctx = context.WithValue(ctx, caddyhttp.OriginalRequestCtxKey, *tt.original)
			}
			r = r.WithContext(ctx)
			if got := requestTarget(r); got != tt.want {
				t.Errorf("requestTarget = %q, want %q", got, tt.want)
			}
		})
	}
}

func mustURL(s string) *url.URL {
	u, err := url.ParseRequestURI(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestAppendPageURL(t *testing.T) {
	tests := []struct {
		name   string
		origin string // pageSigner.origin (normalized public_origin)
		setup  func(r *http.Request) *http.Request
		want   string
	}{
		{name: "derived", want: "http://example.com/pay/order?id=1&x=%20"},
		{name: "public_origin wins over request", origin: "https://shop.example.com",
			setup: func(r *http.Request) *http.Request {
				r.TLS = &tls.ConnectionState{}
				r.Host = "internal:8443"
				return r
			},
			want: "https://shop.example.com/pay/order?id=1&x=%20"},
		{name: "public_origin wins over trusted proxy", origin: "https://shop.example.com:8443",
			setup: func(r *http.Request) *http.Request {
				r.Header.Set("X-Forwarded-Proto", "http")
				r.Header.Set("X-Forwarded-Host", "other.example.com")
				return withTrust(r, true)
			},
			want: "https://shop.example.com:8443/pay/order?id=1&x=%20"},
		{name: "rewritten request signs the original", setup: func(r *http.Request) *http.Request {
			orig := *r
			r.RequestURI = "/index.html"
			r.URL = mustURL("/index.html")
			return r.WithContext(context.WithValue(r.Context(), caddyhttp.OriginalRequestCtxKey, orig))
		}, want: "http://example.com/pay/order?id=1&x=%20"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/pay/order?id=1&x=%20", nil)
			r.Host = "Example.com:80"
			if tt.setup != nil {
				r = tt.setup(r)
			}
			h := &pageSigner{origin: tt.origin}
			got := string(h.appendPageURL([]byte("keep"), r))
			if got != "keep"+tt.want {
				t.Errorf("appendPageURL = %q, want %q", got[4:], tt.want)
			}
		})
	}
}

func TestOriginalPath(t *testing.T) {
	tests := []struct {
		name     string
		url      string
		original *http.Request
		want     string
	}{
		{name: "no original", url: "/a/b?x", want: "/a/b"},
		{name: "rewritten", url: "/index.html", original: &http.Request{URL: mustURL("/.well-known/c?url=x")},
			want: "/.well-known/c"},
		{name: "original without URL", url: "/now", original: &http.Request{}, want: "/now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{URL: mustURL(tt.url)}
			ctx := context.Background()
			if tt.original != nil {
				ctx = context.WithValue(ctx, caddyhttp.OriginalRequestCtxKey, *tt.original)
			}
			if got := originalPath(r.WithContext(ctx)); got != tt.want {
				t.Errorf("originalPath = %q, want %q", got, tt.want)
			}
		})
	}
}
