// Package origin answers, for the handlers that need it (wechat_jssdk
// signs the page's URL, wechat_oauth builds redirect_uri and picks its
// cookies), one question the same way: what URL did the browser use?
//
// The scheme and host are the connection's (TLS, the Host header), or
// X-Forwarded-Proto and X-Forwarded-Host when Caddy's trusted_proxies vouch
// for the peer: anyone else could make a handler sign a URL, or send a
// user back to an origin, of their choosing. The path and query are the
// request's as it arrived, before a rewrite (try_files … /index.html for
// an SPA) changed them. Two handlers that disagreed on any of this would
// sign one URL and redirect to another.
package origin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
)

// Append appends scheme://host[:port] as the browser shows it in
// location.origin: the scheme IsHTTPS decides, the host in lower case,
// without the scheme's default port. X-Forwarded-Host counts only from a
// trusted proxy; the Host header otherwise (the site block's host matcher
// has already vetted it). It allocates nothing beyond growing dst.
func Append(dst []byte, r *http.Request) []byte {
	trusted := trustedProxy(r)
	scheme := "http"
	if isHTTPS(r, trusted) {
		scheme = "https"
	}
	host := r.Host
	if trusted {
		if fh := firstHeaderValue(r.Header, "X-Forwarded-Host"); fh != "" {
			host = fh
		}
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
	return dst
}

// IsHTTPS reports whether the browser reached the site over https: a TLS
// connection, unless a trusted proxy's X-Forwarded-Proto says otherwise
// (http or https; any other value is ignored). It is the scheme Append
// writes.
func IsHTTPS(r *http.Request) bool { return isHTTPS(r, trustedProxy(r)) }

func isHTTPS(r *http.Request, trusted bool) bool {
	https := r.TLS != nil
	if trusted {
		switch p := firstHeaderValue(r.Header, "X-Forwarded-Proto"); {
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

// firstHeaderValue returns the first comma-separated element of the first
// header line: the value the outermost proxy set.
func firstHeaderValue(h http.Header, name string) string {
	vals := h[name] // callers pass canonical names; canonicalizing costs an allocation
	if len(vals) == 0 {
		return ""
	}
	v := vals[0]
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
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
