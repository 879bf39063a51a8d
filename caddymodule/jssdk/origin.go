package jssdk

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// appendRequestOrigin derives scheme://host[:port] from the connection, and
// from X-Forwarded-Proto/Host only when Caddy's trusted_proxies vouch for the
// peer: anyone else could make us sign a URL of their choosing.
func appendRequestOrigin(dst []byte, r *http.Request) []byte {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool); trusted {
		if p := firstHeaderValue(r.Header, "X-Forwarded-Proto"); p != "" {
			switch {
			case strings.EqualFold(p, "https"):
				scheme = "https"
			case strings.EqualFold(p, "http"):
				scheme = "http"
			}
		}
		if fh := firstHeaderValue(r.Header, "X-Forwarded-Host"); fh != "" {
			host = fh
		}
	}
	dst = append(dst, scheme...)
	dst = append(dst, "://"...)
	host = stripDefaultPort(scheme, host)
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A' // browsers show the host in lower case
		}
		dst = append(dst, c)
	}
	return dst
}

// requestTarget is the path and query the browser asked for. Rewrites
// (try_files, SPA fallbacks) change r.RequestURI, so it is read from the
// request as it arrived.
func requestTarget(r *http.Request) string {
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

// originalPath is the request's path as it arrived: the config endpoint is
// a virtual path that an SPA fallback (try_files … /index.html) would
// otherwise have rewritten away before this handler runs.
func originalPath(r *http.Request) string {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		return orig.URL.Path
	}
	return r.URL.Path
}

// originalQuery is the query as it arrived, for the same reason as
// originalPath: a rewrite may have replaced it.
func originalQuery(r *http.Request) url.Values {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		return orig.URL.Query()
	}
	return r.URL.Query()
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

func stripDefaultPort(scheme, host string) string {
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return host[:len(host)-4]
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return host[:len(host)-3]
	}
	return host
}
