package jssdk

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/origin"
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
			b, err := h.appendPageURL([]byte("keep"), r)
			if got := string(b); err != nil || got != "keep"+tt.want {
				t.Errorf("appendPageURL = %q, %v; want %q", got[4:], err, tt.want)
			}
		})
	}
}

// TestAppendPageURLHostPort: without public_origin a Host on another port
// than the listener's is refused, dst unchanged; public_origin is never
// checked (the operator said what the origin is).
func TestAppendPageURLHostPort(t *testing.T) {
	tests := []struct {
		name, origin, host string
		want               string // "" : refused
	}{
		{name: "same port", host: "example.com:8080", want: "http://example.com:8080/p?a=1"},
		{name: "other port", host: "example.com:9999"},
		{name: "no port means 80", host: "example.com"},
		{name: "public_origin is not checked", origin: "https://shop.example.com", host: "example.com:9999",
			want: "https://shop.example.com/p?a=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := withListener(httptest.NewRequest(http.MethodGet, "/p?a=1", nil), 8080)
			r.Host = tt.host
			h := &pageSigner{origin: tt.origin}
			b, err := h.appendPageURL([]byte("keep"), r)
			if tt.want == "" {
				if !errors.Is(err, origin.ErrHostPort) || string(b) != "keep" {
					t.Errorf("appendPageURL = %q, %v; want dst unchanged and ErrHostPort", b, err)
				}
				return
			}
			if err != nil || string(b) != "keep"+tt.want {
				t.Errorf("appendPageURL = %q, %v; want %q", b, err, "keep"+tt.want)
			}
		})
	}
}

// withListener records the listener's port in r's context, as net/http's
// server does.
func withListener(r *http.Request, port int) *http.Request {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	return r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
}
