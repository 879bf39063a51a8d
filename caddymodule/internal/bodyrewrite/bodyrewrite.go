// Package bodyrewrite holds what the handlers that rewrite response bodies
// (wechat_jssdk, wechat_pay) must each get right the same way: which
// requests and responses may be rewritten at all (EligibleRequest,
// Rewritable), asking the next handler for an identity body and restoring
// the client's Accept-Encoding, weakening a strong ETag, hiding ReadFrom,
// and writing a value as a JSON string that is safe in an HTML page
// (AppendJSONString). Two copies of any of these drifted apart before:
// here each is written once. It has no Caddy dependency.
package bodyrewrite

import (
	"io"
	"net/http"
	"strings"
)

// AcceptEncoding is a request's Accept-Encoding as the client sent it.
type AcceptEncoding struct {
	vals []string
	had  bool
}

// identityOnly is shared by all requests; the full slice expression makes
// an append by a later handler copy instead of writing into it.
var identityOnly = []string{"identity"}[:1:1]

// PreferIdentity asks the next handler (reverse_proxy's upstream,
// file_server's precompressed lookup) for an uncompressed body, the only
// kind a rewriter can read, and returns what the client sent. encode, which
// sits outside the rewriters, has already read it.
func PreferIdentity(h http.Header) AcceptEncoding {
	a := AcceptEncoding{}
	a.vals, a.had = h["Accept-Encoding"]
	h["Accept-Encoding"] = identityOnly
	return a
}

// Restore puts the client's Accept-Encoding back, so logs and outer
// handlers see what was sent.
func (a AcceptEncoding) Restore(h http.Header) {
	if a.had {
		h["Accept-Encoding"] = a.vals
	} else {
		delete(h, "Accept-Encoding")
	}
}

// WeakenETag turns a strong ETag into a weak one: a rewritten body is only
// semantically equivalent to the one the validator was made for, and a
// weak validator still lets If-None-Match revalidate.
func WeakenETag(h http.Header) {
	if etag := h.Get("Etag"); strings.HasPrefix(etag, `"`) {
		h.Set("Etag", "W/"+etag)
	}
}

// WriterOnly hides a writer's ReadFrom, so that io.Copy from inside that
// ReadFrom goes through Write instead of recursing.
type WriterOnly struct{ io.Writer }

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
