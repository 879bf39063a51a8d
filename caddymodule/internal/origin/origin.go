// Package origin answers, for the handlers that need it (wechat_jssdk
// signs the page's URL, wechat_oauth builds redirect_uri and picks its
// cookies), one question the same way: what URL did the browser use?
//
// The scheme and host are the connection's (TLS, the Host header), or
// X-Forwarded-Proto and X-Forwarded-Host when Caddy's trusted_proxies vouch
// for the peer: anyone else could make a handler sign a URL, or send a
// user back to an origin, of their choosing. Of a forwarded header the
// rightmost value counts, across all its lines: the one the trusted proxy
// set or appended; what is left of it came from further away, the client
// included. The path and query are the request's as it arrived, before a
// rewrite (try_files … /index.html for an SPA) changed them. Two handlers
// that disagreed on any of this would sign one URL and redirect to another.
//
// Caddy's host matcher ignores the port, and a catch-all site matches any
// Host: AppendChecked, for a handler that signs, also refuses a Host whose
// port is not the one the request arrived on.
package origin

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
)

// Append appends scheme://host[:port] as the browser shows it in
// location.origin: the scheme IsHTTPS decides, the host in lower case,
// without the scheme's default port. X-Forwarded-Host (its rightmost
// value) counts only from a trusted proxy; the Host header otherwise. It
// allocates nothing beyond growing dst.
func Append(dst []byte, r *http.Request) []byte {
	dst, _ = appendOrigin(dst, r, false)
	return dst
}

// ErrHostPort is AppendChecked's refusal: the Host header names a port (or,
// without one, implies the scheme's default) other than the port of the
// listener the request came in on. Caddy's host matcher ignores the port,
// so on a site at http://localhost:8080 a request with Host localhost:9999
// would otherwise be answered for http://localhost:9999.
var ErrHostPort = errors.New("the Host header's port is not the port the request arrived on")

// AppendChecked is Append for a handler that signs for the origin: when the
// origin is the request's own Host (not a trusted proxy's), its port must
// be the listener's, else it returns dst unchanged and ErrHostPort. A
// request from a trusted proxy is not checked: the port the browser used
// is the proxy's, not ours. Nor is one whose listener has no port (a unix
// socket) or is unknown (a request made in a test). It allocates nothing
// beyond growing dst.
func AppendChecked(dst []byte, r *http.Request) ([]byte, error) {
	return appendOrigin(dst, r, true)
}

func appendOrigin(dst []byte, r *http.Request, check bool) ([]byte, error) {
	trusted := trustedProxy(r)
	https := isHTTPS(r, trusted)
	scheme := "http"
	if https {
		scheme = "https"
	}
	host := r.Host
	if trusted {
		if fh := lastHeaderValue(r.Header, "X-Forwarded-Host"); fh != "" {
			host = fh
		}
	} else if check && !portMatches(r, host, https) {
		return dst, ErrHostPort
	}
	dst = append(dst, scheme...)
	dst = append(dst, "://"...)
	host = StripDefaultPort(scheme, host)
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A' // browsers show the host in lower case
		}
		dst = append(dst, c)
	}
	return dst, nil
}

// portMatches reports whether host's port (the scheme's default when it
// names none) is the port of the listener r came in on, as net/http (and
// quic-go's http3) recorded it in the request's context. A listener
// without a port, or none recorded, matches anything.
func portMatches(r *http.Request, host string, https bool) bool {
	var local int
	switch a := r.Context().Value(http.LocalAddrContextKey).(type) {
	case *net.TCPAddr:
		local = a.Port
	case *net.UDPAddr:
		local = a.Port
	default:
		return true
	}
	port, ok := hostPort(host)
	if !ok {
		return false
	}
	if port == 0 {
		port = 80
		if https {
			port = 443
		}
	}
	return port == local
}

// hostPort returns the port a Host header value names: 0 when it names
// none, ok false when what follows its last colon (outside an IPv6
// literal's brackets) is not a port as a browser writes it — decimal,
// 1 to 65535, no leading zero, not empty — or the host is an IPv6
// literal without brackets.
func hostPort(host string) (port int, ok bool) {
	i := strings.LastIndexByte(host, ':')
	if i < 0 {
		return 0, true
	}
	if host[0] == '[' { // [v6] or [v6]:port
		end := strings.IndexByte(host, ']')
		switch {
		case end < 0:
			return 0, false
		case i < end:
			return 0, true // the colon is the address's
		case i != end+1:
			return 0, false
		}
	} else if strings.IndexByte(host[:i], ':') >= 0 {
		return 0, false // an IPv6 literal without brackets
	}
	p := host[i+1:]
	if p == "" || len(p) > 5 || p[0] == '0' {
		return 0, false
	}
	for j := 0; j < len(p); j++ {
		c := p[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		port = port*10 + int(c-'0')
	}
	if port > 65535 {
		return 0, false
	}
	return port, true
}

// IsHTTPS reports whether the browser reached the site over https: a TLS
// connection, unless a trusted proxy's X-Forwarded-Proto (its rightmost
// value) says otherwise (http or https; any other value is ignored). It is
// the scheme Append writes.
func IsHTTPS(r *http.Request) bool { return isHTTPS(r, trustedProxy(r)) }

func isHTTPS(r *http.Request, trusted bool) bool {
	https := r.TLS != nil
	if trusted {
		switch p := lastHeaderValue(r.Header, "X-Forwarded-Proto"); {
		case strings.EqualFold(p, "https"):
			https = true
		case strings.EqualFold(p, "http"):
			https = false
		}
	}
	return https
}

// trustedProxy reports whether Caddy's trusted_proxies vouch for the peer,
// as Caddy's server recorded it in the request's vars.
func trustedProxy(r *http.Request) bool {
	trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool)
	return trusted
}

// lastHeaderValue returns the rightmost comma-separated element of the
// last header line, trimmed: the value the proxy nearest to us set or
// appended. The elements left of it came from further away — from the
// client, when the proxy appends rather than replaces — and never count.
// An empty rightmost element counts as no value.
func lastHeaderValue(h http.Header, name string) string {
	vals := h[name] // callers pass canonical names; canonicalizing costs an allocation
	if len(vals) == 0 {
		return ""
	}
	v := vals[len(vals)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// Target is the request-target the browser sent: path and query byte for
// byte, without a fragment. Rewrites (try_files, SPA fallbacks) change
// r.RequestURI, so it is read from the request as it arrived.
func Target(r *http.Request) string {
	uri, u := r.RequestURI, r.URL
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.RequestURI != "" {
		uri, u = orig.RequestURI, orig.URL
	}
	if (uri == "" || uri[0] != '/') && u != nil {
		// absolute-form ("GET http://host/p HTTP/1.1") or a bare handler
		// call in tests: the parsed URL holds the same path and query.
		uri = u.RequestURI()
	}
	if i := strings.IndexByte(uri, '#'); i >= 0 {
		uri = uri[:i]
	}
	return uri
}

// OriginalURL is the request's URL as it arrived: a rewrite ahead of the
// handler must neither hide a path the handler answers itself (a config
// endpoint, an OAuth callback) nor change where a user returns to.
func OriginalURL(r *http.Request) *url.URL {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		return orig.URL
	}
	return r.URL
}

// OriginalPath is OriginalURL's path.
func OriginalPath(r *http.Request) string { return OriginalURL(r).Path }

// OriginalQuery is OriginalURL's query, parsed.
func OriginalQuery(r *http.Request) url.Values { return OriginalURL(r).Query() }

// StripDefaultPort drops ":443" from an https host and ":80" from an http
// one, as browsers do in location.origin.
func StripDefaultPort(scheme, host string) string {
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return host[:len(host)-4]
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return host[:len(host)-3]
	}
	return host
}

// Normalize checks that raw is an http(s) origin (config.CheckHTTPURL
// without a path) and turns it into the form location.origin shows: lower
// case scheme and host, no default port, no trailing slash.
func Normalize(raw string) (string, error) {
	if err := config.CheckHTTPURL(raw, false); err != nil {
		return "", err
	}
	u, _ := url.Parse(raw)
	scheme := strings.ToLower(u.Scheme)
	host := StripDefaultPort(scheme, strings.ToLower(u.Host))
	return scheme + "://" + host, nil
}
