package jssdk

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestConfigEndpoint(t *testing.T) {
	const ep = "/.well-known/wechat-jssdk/config"
	tests := []struct {
		name    string
		method  string
		host    string
		local   int    // the listener's port; 0: none recorded
		origin  string // public_origin
		rawURL  string // the url parameter; "-" for none
		failing bool   // WeChat unavailable
		rewrite bool   // an SPA rule rewrote the request to /index.html first
		status  int
		signed  string // the URL signed, for a 200
	}{
		{name: "page on this origin", rawURL: "http://example.com/pay/order?id=1&x=%20", status: 200,
			signed: "http://example.com/pay/order?id=1&x=%20"},
		{name: "fragment dropped", rawURL: "http://example.com/app/#/orders/1", status: 200, signed: "http://example.com/app/"},
		{name: "origin normalized, rest byte for byte", rawURL: "HTTP://Example.COM:80/A%2fb?Q=%e4", status: 200,
			signed: "http://example.com/A%2fb?Q=%e4"},
		{name: "non-default port", host: "example.com:8080", rawURL: "http://example.com:8080/", status: 200,
			signed: "http://example.com:8080/"},
		{name: "public_origin", host: "backend:9000", origin: "https://shop.example.com",
			rawURL: "https://shop.example.com/p?a=1", status: 200, signed: "https://shop.example.com/p?a=1"},
		{name: "after an SPA rewrite", rewrite: true, rawURL: "http://example.com/app/orders/1", status: 200,
			signed: "http://example.com/app/orders/1"},
		{name: "HEAD", method: http.MethodHead, rawURL: "http://example.com/", status: 200},
		{name: "other origin", rawURL: "http://evil.example/pay", status: 403},
		{name: "other scheme", rawURL: "https://example.com/pay", status: 403},
		{name: "other port", rawURL: "http://example.com:8080/pay", status: 403},
		{name: "request host when public_origin is set", host: "backend:9000", origin: "https://shop.example.com",
			rawURL: "http://backend:9000/p", status: 403},
		{name: "no url", rawURL: "-", status: 400},
		{name: "relative url", rawURL: "/pay", status: 400},
		{name: "no path", rawURL: "http://example.com", status: 400},
		{name: "query without path", rawURL: "http://example.com?a=1", status: 400},
		{name: "not http", rawURL: "javascript://example.com/%0aalert(1)", status: 400},
		{name: "user info", rawURL: "http://u@example.com/", status: 400},
		{name: "POST", method: http.MethodPost, rawURL: "http://example.com/", status: 405},
		{name: "WeChat down", rawURL: "http://example.com/", failing: true, status: 503},
		{name: "Host port is the listener's", host: "example.com:8080", local: 8080, rawURL: "http://example.com:8080/p",
			status: 200, signed: "http://example.com:8080/p"},
		{name: "Host port is not the listener's", host: "example.com:9999", local: 8080,
			rawURL: "http://example.com:9999/p", status: 403},
		{name: "Host without port (80) on 8080", host: "example.com", local: 8080, rawURL: "http://example.com/p", status: 403},
		{name: "public_origin: the Host port is not checked", host: "example.com:9999", local: 8080,
			origin: "https://shop.example.com", rawURL: "https://shop.example.com/p", status: 200, signed: "https://shop.example.com/p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{}
			if tt.failing {
				src.err = errBadSecret
			}
			h := newTestHandler(t, src, func(h *Handler) {
				h.ConfigEndpoint = ep
				h.PublicOrigin = tt.origin
				h.JSAPIList = []string{"chooseImage"}
			})
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			target := ep
			if tt.rawURL != "-" {
				target += "?url=" + url.QueryEscape(tt.rawURL)
			}
			r := httptest.NewRequest(method, target, nil)
			if tt.host != "" {
				r.Host = tt.host
			}
			if tt.local != 0 {
				r = withListener(r, tt.local)
			}
			rec := newRecorder()
			if tt.rewrite {
				r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), rec, nil)
				// try_files {path} /index.html?: the path changes, and a
				// rule may drop the query too; the endpoint reads both as
				// they arrived
				r.URL.Path = "/index.html"
				r.URL.RawQuery = ""
				r.RequestURI = r.URL.RequestURI()
			}
			err := h.ServeHTTP(rec, r, failNext(t))
			if err != nil {
				t.Fatalf("ServeHTTP: %v", err)
			}
			if !reflect.DeepEqual(rec.statuses, []int{tt.status}) {
				t.Fatalf("statuses %v, want [%d]; body %s", rec.statuses, tt.status, rec.body.String())
			}
			hdr := rec.finalHeader()
			if hdr.Get("Cache-Control") != "no-store" || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
				t.Errorf("headers %v", hdr)
			}
			if method == http.MethodHead {
				if rec.body.Len() != 0 {
					t.Errorf("HEAD got a body: %q", rec.body.String())
				}
				return
			}
			if strings.Contains(rec.body.String(), testTicket) || strings.Contains(rec.body.String(), "ACCESS_TOKEN_VALUE") {
				t.Fatal("a credential in the answer")
			}
			if tt.status != 200 {
				var e struct{ Error string }
				if err := json.Unmarshal(rec.body.Bytes(), &e); err != nil || e.Error == "" {
					t.Errorf("error body %q is not {\"error\":…}", rec.body.String())
				}
				return
			}
			dec := json.NewDecoder(bytes.NewReader(rec.body.Bytes()))
			dec.DisallowUnknownFields()
			var c wxConfig
			if err := dec.Decode(&c); err != nil {
				t.Fatalf("answer %s: %v", rec.body.String(), err)
			}
			var keys map[string]json.RawMessage
			_ = json.Unmarshal(rec.body.Bytes(), &keys)
			var names []string
			for k := range keys {
				names = append(names, k)
			}
			sort.Strings(names)
			if want := []string{"appId", "debug", "jsApiList", "nonceStr", "openTagList", "signature", "timestamp", "url"}; !reflect.DeepEqual(names, want) {
				t.Errorf("keys %q, want %q", names, want)
			}
			if c.URL != tt.signed || c.AppID != testAppID || !reflect.DeepEqual(c.JSAPIList, []string{"chooseImage"}) {
				t.Errorf("answer %+v, want url %q", c, tt.signed)
			}
			if c.Signature != wantSignature(testTicket, c.NonceStr, c.Timestamp, tt.signed) {
				t.Error("signature does not match the URL")
			}
		})
	}
}

// failNext is a next handler the request must not reach.
func failNext(t testing.TB) caddyhttp.HandlerFunc {
	return func(http.ResponseWriter, *http.Request) error {
		t.Error("the config endpoint request reached the next handler")
		return nil
	}
}
