package oauth

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// isWeChat reports whether r comes from WeChat's built-in browser, the only
// one WeChat's authorize page works in.
func isWeChat(r *http.Request) bool {
	return strings.Contains(r.UserAgent(), "MicroMessenger")
}

// isNavigation reports whether r is a page load a redirect to WeChat can
// serve: a GET or HEAD that is neither fetch/XHR (Sec-Fetch-Mode other than
// navigate) nor jQuery-style XHR. Android's WebView sends X-Requested-With
// with the app's package name on every request, so only XMLHttpRequest
// counts. A browser that sends no Sec-Fetch-Mode (older WeChat kernels) is
// taken at its method.
func isNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if strings.EqualFold(r.Header.Get("X-Requested-With"), "XMLHttpRequest") {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Mode") {
	case "", "navigate", "nested-navigate":
		return true
	}
	return false
}

// stripIdentity removes every header a backend could read as one of the
// identity headers. Besides case, '_' counts as '-': CGI, FastCGI and
// several frameworks map both to the same variable (HTTP_X_WECHAT_OPENID).
func (h *Handler) stripIdentity(hdr http.Header) {
	for name := range hdr {
		if sameHeaderName(name, h.Header) || sameHeaderName(name, h.UnionIDHeader) {
			delete(hdr, name)
		}
	}
}

// sameHeaderName compares header names ignoring case and '_' versus '-'.
func sameHeaderName(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := foldHeaderByte(a[i]), foldHeaderByte(b[i])
		if x != y {
			return false
		}
	}
	return true
}

func foldHeaderByte(c byte) byte {
	switch {
	case c == '_':
		return '-'
	case c >= 'A' && c <= 'Z':
		return c + 'a' - 'A'
	}
	return c
}

// isHTTPS reports whether the browser reached the site over https: a TLS
// connection, or X-Forwarded-Proto from a proxy Caddy's trusted_proxies
// vouch for.
func isHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool); trusted {
		return strings.EqualFold(firstValue(r.Header.Get("X-Forwarded-Proto")), "https")
	}
	return false
}

// origin is scheme://host[:port] as the browser used it, for redirect_uri.
// X-Forwarded-Host counts only from a trusted proxy; the Host header
// otherwise (the site block's host matcher has already vetted it).
func origin(r *http.Request, https bool) string {
	host := r.Host
	if trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool); trusted {
		if fh := firstValue(r.Header.Get("X-Forwarded-Host")); fh != "" {
			host = fh
		}
	}
	host = strings.ToLower(host)
	scheme := "http"
	if https {
		scheme = "https"
		host = strings.TrimSuffix(host, ":443")
	} else {
		host = strings.TrimSuffix(host, ":80")
	}
	return scheme + "://" + host
}

// firstValue is the first element of a comma-separated header value: what
// the outermost proxy set.
func firstValue(v string) string {
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// originalURL is the URL as the request arrived: a rewrite ahead of this
// handler (try_files … /index.html for an SPA) must neither hide the
// callback nor change where the user returns to.
func originalURL(r *http.Request) *url.URL {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		return orig.URL
	}
	return r.URL
}

func originalPath(r *http.Request) string { return originalURL(r).Path }

// maxReturn bounds the return target kept in the state cookie, which must
// stay under the 4 KiB a browser keeps per cookie.
const maxReturn = 2048

// returnTarget is where the user lands after signing in: the path and
// query as requested, made local (localTarget). A target too long for the
// cookie keeps its path, or falls back to the site's root.
func returnTarget(r *http.Request) string {
	u := originalURL(r)
	target := localTarget(u.RequestURI())
	if len(target) <= maxReturn {
		return target
	}
	if p := localTarget(u.EscapedPath()); len(p) <= maxReturn {
		return p
	}
	return "/"
}

// localTarget turns a request-target into one a Location header can only
// resolve on this origin. "//evil.example/x" is a path to this server, but
// as a Location a browser reads it as another host; so does "/\evil", since
// browsers treat '\' as '/'. Leading slashes and backslashes collapse into
// one slash; anything not starting with '/' becomes "/".
func localTarget(t string) string {
	if t == "" || t[0] != '/' {
		return "/"
	}
	i := 1
	for i < len(t) && (t[i] == '/' || t[i] == '\\') {
		i++
	}
	if i > 1 {
		t = "/" + t[i:]
	}
	if strings.ContainsFunc(t, func(c rune) bool { return c < ' ' || c == 0x7f }) {
		return "/"
	}
	return t
}

// isLocalTarget reports whether t is what localTarget returns.
func isLocalTarget(t string) bool { return t != "" && localTarget(t) == t }

// cookieNames returns the session and state cookie names for a request
// over https or not. The __Host- prefix (no Domain, Path=/, Secure) keeps
// sibling subdomains from planting a cookie; browsers refuse it, and
// __Secure-, over plain http, so it is dropped there.
func (h *Handler) cookieNames(https bool) (session, state string) {
	name := h.CookieName
	if name == "" {
		name = DefaultCookieName
		if https {
			name = "__Host-" + name
		}
	} else if !https {
		for _, prefix := range []string{"__Host-", "__Secure-"} {
			if len(name) > len(prefix) && strings.EqualFold(name[:len(prefix)], prefix) {
				name = name[len(prefix):]
				break
			}
		}
	}
	return name, name + "_state"
}
