package pay

import (
	"net/http"
	"strings"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/bodyrewrite"
)

// signableResponse reports whether a response is a full 2xx JSON body that
// can be read and changed (bodyrewrite.Rewritable: not compressed, not a
// range) and that announces no trailers. The refusal of trailers is this
// handler's own: it holds the whole body and sends the signed one with a
// known Content-Length, and a response with a length has no chunked
// framing to carry trailers in, so they would be lost. wechat_jssdk
// streams its pages chunked, and trailers survive there.
func signableResponse(status int, hdr http.Header) bool {
	return bodyrewrite.Rewritable(status, hdr) && hdr.Get("Trailer") == "" &&
		isJSON(hdr.Get("Content-Type"))
}

// isJSON accepts application/json and the structured-syntax suffix
// application/*+json (RFC 6839), with any parameters.
func isJSON(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.ToLower(strings.TrimSpace(ct))
	if ct == "application/json" {
		return true
	}
	sub, ok := strings.CutPrefix(ct, "application/")
	return ok && len(sub) > len("+json") && strings.HasSuffix(sub, "+json") && !strings.ContainsAny(sub, "/ \t")
}
