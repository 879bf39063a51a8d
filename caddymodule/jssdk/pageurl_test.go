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
