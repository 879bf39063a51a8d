package sandbox

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
)

// Cross-origin access, deliberately narrow. The sandbox's control calls
// (fault, chaos, reset, rotate) reset it and inject failures without any
// authentication, so no web page may drive them: they send no CORS header
// at all, answer no preflight, and take only a JSON POST, which a page on
// another origin cannot send without a preflight (readControl).
//
// The one thing a browser on another origin has to do is what the stub
// jweixin does from the site's pages: read the answers of /sandbox/verify
// and /sandbox/pay/verify. It sends them as simple text/plain POSTs (no
// preflight), so all it needs is Access-Control-Allow-Origin on the
// answer, and that is given only to the origins named in allow_origin.

// allowStubOrigin lets a page on one of the allow_origin origins read the
// answer of a stub check (/sandbox/verify, /sandbox/pay/verify). Without
// allow_origin it does nothing: no header at all.
func (h *Handler) allowStubOrigin(w http.ResponseWriter, r *http.Request) {
	if len(h.AllowOrigins) == 0 {
		return
	}
	w.Header().Add("Vary", "Origin") // the answer depends on it
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	for _, o := range h.AllowOrigins {
		if strings.EqualFold(o, origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			return
		}
	}
}

// checkOrigin reports what is wrong with o as an allow_origin value: it
// must be an origin exactly as a browser sends it in the Origin header,
// scheme://host[:port] with nothing after it.
func checkOrigin(o string) error {
	if err := config.CheckHTTPURL(o, false); err != nil {
		return err
	}
	if strings.HasSuffix(o, "/") {
		return fmt.Errorf("%q: an origin has no trailing slash (scheme://host[:port])", o)
	}
	return nil
}
