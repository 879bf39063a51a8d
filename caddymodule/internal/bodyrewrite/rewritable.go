package bodyrewrite

import (
	"net/http"
	"strings"
)

// Rewritable reports whether a response, by its final status and headers,
// is a full body a handler may read and change: a 2xx other than 204 and
// 205 (no body) and 206 (a part of one), in no content coding but
// identity (rewriting compressed bytes would corrupt them), and not a
// Content-Range. It is the part both rewriters share; each adds its own
// test of the Content-Type, and its own refusals for what only it cannot
// handle.
func Rewritable(status int, hdr http.Header) bool {
	if status < 200 || status > 299 || status == http.StatusNoContent ||
		status == http.StatusResetContent || status == http.StatusPartialContent {
		return false
	}
	if ce := hdr.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return false
	}
	return hdr.Get("Content-Range") == ""
}

// EligibleRequest reports whether a request's response can carry a body
// worth wrapping the response writer for: HEAD has no body, CONNECT
// tunnels, and an Upgrade hands the connection over. Such requests go to
// the next handler with the writer untouched. A handler may narrow it
// further (wechat_jssdk takes only GET and POST: only navigations load
// pages).
func EligibleRequest(r *http.Request) bool {
	if r.Method == http.MethodHead || r.Method == http.MethodConnect {
		return false
	}
	return r.Header.Get("Upgrade") == ""
}
