package oauth

import (
	"net/http"
	"strings"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/origin"
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

// maxReturn bounds the return target kept in the state cookie, which must
// stay under the 4 KiB a browser keeps per cookie.
const maxReturn = 2048

// returnTarget is where the user lands after signing in: the path and
// query as requested, made local (localTarget). A target too long for the
// cookie keeps its path, or falls back to the site's root.
func returnTarget(r *http.Request) string {
	u := origin.OriginalURL(r)
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
		if h.weCom() {
			name = DefaultWeComCookieName
		}
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
