package pay

import (
	"net/http"
	"strings"
)

// eligibleRequest leaves alone requests whose responses carry no body to
// sign: HEAD has none, an upgrade hands the connection over, CONNECT
// tunnels.
func eligibleRequest(r *http.Request) bool {
	if r.Method == http.MethodHead || r.Method == http.MethodConnect {
		return false
	}
	return r.Header.Get("Upgrade") == ""
}

// signableResponse reports whether a response is a full 2xx JSON body in a
// form that can be read and changed: not compressed, not a range, and
// without trailers (a known length, which a changed body gets, leaves no
// room for them).
func signableResponse(status int, hdr http.Header) bool {
	if status < 200 || status > 299 || status == http.StatusNoContent ||
		status == http.StatusResetContent || status == http.StatusPartialContent {
		return false
	}
	if ce := hdr.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return false
	}
	if hdr.Get("Content-Range") != "" || hdr.Get("Trailer") != "" {
		return false
	}
	return isJSON(hdr.Get("Content-Type"))
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
