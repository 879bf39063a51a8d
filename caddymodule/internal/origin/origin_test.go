package origin

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// withTrust marks r as coming from a trusted proxy (or not) the way Caddy's
// server does: through the request's vars table.
func withTrust(r *http.Request, trusted bool) *http.Request {
	vars := map[string]any{caddyhttp.TrustedProxyVarKey: trusted}
	return r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, vars))
}

func ptr[T any](v T) *T { return &v }

// TestAppend also holds IsHTTPS to the scheme Append writes: a handler
// that signs the page and one that picks cookies for it must agree.
func TestAppend(t *testing.T) {
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
		{name: "port 180 is not 80", host: "example.com:180", want: "http://example.com:180"},
		{name: "upper-case host", tls: true, host: "WWW.Example.COM:8443", want: "https://www.example.com:8443"},
		{name: "ipv6 default port", host: "[::1]:80", want: "http://[::1]"},
		{name: "ipv6 other port", host: "[::1]:8080", want: "http://[::1]:8080"},

		{name: "forwarded headers ignored without vars", host: "example.com",
			xfProto: []string{"https"}, xfHost: []string{"evil.example"}, want: "http://example.com"},
		{name: "forwarded headers ignored from untrusted peer", host: "example.com", trusted: ptr(false),
			xfProto: []string{"https"}, xfHost: []string{"evil.example"}, want: "http://example.com"},
		{name: "untrusted peer cannot downgrade TLS", tls: true, host: "example.com", trusted: ptr(false),
			xfProto: []string{"http"}, want: "https://example.com"},
		{name: "trusted proxy", host: "10.0.0.2:8080", trusted: ptr(true),
			xfProto: []string{"https"}, xfHost: []string{"shop.example.com"}, want: "https://shop.example.com"},
		{name: "trusted proxy, default port stripped for forwarded scheme", host: "backend", trusted: ptr(true),
			xfProto: []string{"https"}, xfHost: []string{"Shop.Example.com:443"}, want: "https://shop.example.com"},
		{name: "trusted proxy, forwarded non-default port kept", host: "backend", trusted: ptr(true),
			xfProto: []string{"http"}, xfHost: []string{"shop.example.com:8000"}, want: "http://shop.example.com:8000"},
		// Of a list, the rightmost value is the trusted proxy's; what is
		// left of it came from further away, the client included.
		{name: "trusted proxy, comma-separated: rightmost wins", host: "backend", trusted: ptr(true),
			xfProto: []string{"http, https"}, xfHost: []string{" evil.example , shop.example.com "}, want: "https://shop.example.com"},
		{name: "trusted proxy, several lines: last wins", host: "backend", trusted: ptr(true),
			xfProto: []string{"http", "HTTPS"}, xfHost: []string{"evil.example", "shop.example.com"}, want: "https://shop.example.com"},
		{name: "trusted proxy, lines and lists: rightmost of the last line", host: "backend", trusted: ptr(true),
			xfProto: []string{"https, http", "ftp, https"}, xfHost: []string{"a.example, b.example", "evil.example, shop.example.com"},
			want: "https://shop.example.com"},
		{name: "trusted proxy, client's https left of the proxy's http", tls: true, host: "example.com", trusted: ptr(true),
			xfProto: []string{"https, http"}, want: "http://example.com"},
		{name: "trusted proxy, empty rightmost value counts as none", host: "example.com", trusted: ptr(true),
			xfProto: []string{"https,"}, xfHost: []string{"evil.example, "}, want: "http://example.com"},
		{name: "trusted proxy, empty last line counts as none", host: "example.com", trusted: ptr(true),
			xfHost: []string{"evil.example", ""}, want: "http://example.com"},
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
			got := string(Append([]byte("x"), r))
			if got != "x"+tt.want {
				t.Errorf("Append = %q, want %q", got[1:], tt.want)
			}
			wantHTTPS := tt.want[:len("https:")] == "https:"
			if IsHTTPS(r) != wantHTTPS {
				t.Errorf("IsHTTPS = %v, but Append wrote %q", !wantHTTPS, tt.want)
			}
		})
	}
}

// withLocalPort records the listener r came in on, as net/http's server
// (or quic-go's, with a UDP address) does.
func withLocalPort(r *http.Request, addr net.Addr) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, addr))
}

func tcp(port int) net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port} }

// TestAppendChecked: the request's own Host is signed for only on the port
// it arrived on; a trusted proxy's (forwarded or not) is not checked, and
// Append, which does not check, writes the same origin whenever
// AppendChecked accepts.
func TestAppendChecked(t *testing.T) {
	tests := []struct {
		name    string
		tls     bool
		host    string
		local   net.Addr // nil: none recorded
		trusted bool
		xfProto string
		xfHost  string
		want    string // "" : ErrHostPort
	}{
		{name: "port matches", host: "localhost:8080", local: tcp(8080), want: "http://localhost:8080"},
		{name: "other port", host: "localhost:9999", local: tcp(8080)},
		{name: "no port is 80 for http", host: "localhost", local: tcp(8080)},
		{name: "no port on 80", host: "example.com", local: tcp(80), want: "http://example.com"},
		{name: "explicit default port on 80", host: "example.com:80", local: tcp(80), want: "http://example.com"},
		{name: "no port is 443 for https", tls: true, host: "example.com", local: tcp(443), want: "https://example.com"},
		{name: "https without port on 8443", tls: true, host: "example.com", local: tcp(8443)},
		{name: "https with port on 8443", tls: true, host: "Example.com:8443", local: tcp(8443), want: "https://example.com:8443"},
		{name: "http's default on an https listener", tls: true, host: "example.com:80", local: tcp(443)},
		{name: "http/3 (UDP listener)", tls: true, host: "example.com", local: &net.UDPAddr{Port: 443}, want: "https://example.com"},
		{name: "http/3 other port", tls: true, host: "example.com:444", local: &net.UDPAddr{Port: 443}},
		{name: "ipv6 with port", host: "[::1]:8080", local: tcp(8080), want: "http://[::1]:8080"},
		{name: "ipv6 without port", host: "[::1]", local: tcp(80), want: "http://[::1]"},
		{name: "ipv6 without port, not 80", host: "[::1]", local: tcp(8080)},
		{name: "leading zero", host: "localhost:08080", local: tcp(8080)},
		{name: "empty port", host: "localhost:", local: tcp(80)},
		{name: "port not a number", host: "localhost:80a", local: tcp(80)},
		{name: "port too large", host: "localhost:65616", local: tcp(80)},
		{name: "port too long", host: "localhost:000080", local: tcp(80)},
		{name: "unix socket: nothing to check against", host: "anything:1", local: &net.UnixAddr{Name: "/run/caddy.sock", Net: "unix"},
			want: "http://anything:1"},
		{name: "no listener recorded", host: "anything:1", want: "http://anything:1"},
		{name: "untrusted forwarded headers change nothing", host: "localhost:9999", local: tcp(8080),
			xfProto: "https", xfHost: "localhost:8080"},
		{name: "trusted proxy's forwarded host is not checked", host: "10.0.0.2:8080", local: tcp(8080), trusted: true,
			xfProto: "https", xfHost: "shop.example.com:8443", want: "https://shop.example.com:8443"},
		{name: "trusted proxy's Host is not checked either", host: "shop.example.com", local: tcp(8080), trusted: true,
			xfProto: "https", want: "https://shop.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/p", nil)
			r.Host = tt.host
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.xfProto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.xfProto)
			}
			if tt.xfHost != "" {
				r.Header.Set("X-Forwarded-Host", tt.xfHost)
			}
			r = withTrust(r, tt.trusted)
			if tt.local != nil {
				r = withLocalPort(r, tt.local)
			}
			got, err := AppendChecked([]byte("x"), r)
			if tt.want == "" {
				if err != ErrHostPort || string(got) != "x" {
					t.Errorf("AppendChecked = %q, %v; want dst unchanged and ErrHostPort", got, err)
				}
				return
			}
			if err != nil || string(got) != "x"+tt.want {
				t.Errorf("AppendChecked = %q, %v; want %q", got, err, "x"+tt.want)
			}
			if plain := string(Append(nil, r)); plain != tt.want {
				t.Errorf("Append = %q, AppendChecked %q", plain, tt.want)
			}
		})
	}
}

func TestHostPort(t *testing.T) {
	for _, tc := range []struct {
		host string
		port int
		ok   bool
	}{
		{"example.com", 0, true},
		{"example.com:8080", 8080, true},
		{"example.com:1", 1, true},
		{"example.com:65535", 65535, true},
		{"[2001:db8::1]", 0, true},
		{"[2001:db8::1]:443", 443, true},
		{"", 0, true},
		{"example.com:", 0, false},
		{"example.com:0", 0, false},
		{"example.com:080", 0, false},
		{"example.com:65536", 0, false},
		{"example.com:123456", 0, false},
		{"example.com:-1", 0, false},
		{"example.com:8080 ", 0, false},
		{"example.com:+80", 0, false},
		{"2001:db8::1", 0, false}, // an unbracketed IPv6 literal is no Host
		{"[2001:db8::1", 0, false},
		{"[::1]x:80", 0, false},
	} {
		port, ok := hostPort(tc.host)
		if port != tc.port || ok != tc.ok {
			t.Errorf("hostPort(%q) = %d, %v; want %d, %v", tc.host, port, ok, tc.port, tc.ok)
		}
	}
}

func TestAppendAllocatesNothing(t *testing.T) {
	r := withTrust(httptest.NewRequest(http.MethodGet, "/p", nil), true)
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-Host", "Shop.Example.com:443")
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], r) }); n != 0 {
		t.Errorf("Append allocates %v times", n)
	}
	// The check on the request's own Host, as a page without a proxy has it.
	own := withLocalPort(withTrust(httptest.NewRequest(http.MethodGet, "/p", nil), false), tcp(8080))
	own.Host = "Shop.Example.com:8080"
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendChecked(buf[:0], own) }); n != 0 {
		t.Errorf("AppendChecked allocates %v times", n)
	}
	own.Host = "shop.example.com:9999"
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendChecked(buf[:0], own) }); n != 0 {
		t.Errorf("AppendChecked allocates %v times when it refuses", n)
	}
}

func TestTarget(t *testing.T) {
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
		{name: "rewrite: the original is used", requestURI: "/index.html", url: "/index.html",
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
			if got := Target(r.WithContext(ctx)); got != tt.want {
				t.Errorf("Target = %q, want %q", got, tt.want)
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

func TestOriginal(t *testing.T) {
	tests := []struct {
		name      string
		url       string
		original  *http.Request
		wantPath  string
		wantQuery url.Values
	}{
		{name: "no original", url: "/a/b?x=1", wantPath: "/a/b", wantQuery: url.Values{"x": {"1"}}},
		{name: "rewritten", url: "/index.html?y=2", original: &http.Request{URL: mustURL("/.well-known/c?url=x")},
			wantPath: "/.well-known/c", wantQuery: url.Values{"url": {"x"}}},
		{name: "original without URL", url: "/now?z", original: &http.Request{},
			wantPath: "/now", wantQuery: url.Values{"z": {""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{URL: mustURL(tt.url)}
			ctx := context.Background()
			if tt.original != nil {
				ctx = context.WithValue(ctx, caddyhttp.OriginalRequestCtxKey, *tt.original)
			}
			r = r.WithContext(ctx)
			if got := OriginalPath(r); got != tt.wantPath {
				t.Errorf("OriginalPath = %q, want %q", got, tt.wantPath)
			}
			if got := OriginalQuery(r); !reflect.DeepEqual(got, tt.wantQuery) {
				t.Errorf("OriginalQuery = %v, want %v", got, tt.wantQuery)
			}
			if got := OriginalURL(r); got.Path != tt.wantPath {
				t.Errorf("OriginalURL = %v, want path %q", got, tt.wantPath)
			}
		})
	}
}

func TestStripDefaultPort(t *testing.T) {
	for _, tc := range []struct{ scheme, host, want string }{
		{"https", "example.com:443", "example.com"},
		{"http", "example.com:80", "example.com"},
		{"http", "example.com:443", "example.com:443"},
		{"https", "example.com:80", "example.com:80"},
		{"http", "example.com:8080", "example.com:8080"},
		{"http", "example.com:180", "example.com:180"},
		{"https", "[::1]:443", "[::1]"},
		{"https", "example.com", "example.com"},
		{"ftp", "example.com:80", "example.com:80"},
	} {
		if got := StripDefaultPort(tc.scheme, tc.host); got != tc.want {
			t.Errorf("StripDefaultPort(%q, %q) = %q, want %q", tc.scheme, tc.host, got, tc.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "https://example.com", want: "https://example.com"},
		{in: "https://example.com/", want: "https://example.com"},
		{in: "HTTPS://Example.COM", want: "https://example.com"},
		{in: "https://example.com:443", want: "https://example.com"},
		{in: "http://example.com:80/", want: "http://example.com"},
		{in: "https://example.com:80", want: "https://example.com:80"},
		{in: "http://example.com:443", want: "http://example.com:443"},
		{in: "https://example.com:8443", want: "https://example.com:8443"},
		{in: "https://[2001:DB8::1]:443", want: "https://[2001:db8::1]"},
		{in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{in: "https://example.com/app", wantErr: true},
		{in: "https://example.com?x=1", wantErr: true},
		{in: "https://example.com#top", wantErr: true},
		{in: "https://user@example.com", wantErr: true},
		{in: "example.com", wantErr: true},
		{in: "//example.com", wantErr: true},
		{in: "ws://example.com", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Normalize(%q) error = %v, want error: %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// BenchmarkAppend is what the Host port check adds to a page's origin: a
// context lookup and a few comparisons.
func BenchmarkAppend(b *testing.B) {
	r := withLocalPort(withTrust(httptest.NewRequest(http.MethodGet, "/p", nil), false), tcp(8080))
	r.Host = "Shop.Example.com:8080"
	buf := make([]byte, 0, 64)
	b.Run("unchecked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = Append(buf[:0], r)
		}
	})
	b.Run("checked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = AppendChecked(buf[:0], r)
		}
	})
}
