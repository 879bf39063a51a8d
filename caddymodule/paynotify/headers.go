package paynotify

import (
	"bytes"
	"io"
	"net/http"
)

// The headers the backend gets with a notification. A client's own
// spelling of them — any case, '_' for '-' — is always removed first.
const (
	HeaderEvent    = "X-WeChat-Pay-Event"
	HeaderNotifyID = "X-WeChat-Pay-Notify-ID"
)

// identityPrefix is the folded prefix of the headers this handler owns
// towards the backend; wechatpayPrefix that of WeChat Pay's signature
// headers, which the backend does not get (their signature covers the
// encrypted body, not what it receives).
const (
	identityPrefix  = "x-wechat-pay-"
	wechatpayPrefix = "wechatpay-"
)

// stripPrefixed removes every header whose name, folded (lower case, '_'
// read as '-'), starts with prefix: CGI, FastCGI and several frameworks map
// X-WeChat-Pay-Event and X_WeChat_Pay_Event to the same variable, so a
// backend reads them as one header.
//
// (A shared identity-header stripper for internal/ is being written
// elsewhere; until it lands this package folds by itself, with the same
// rule as internal/config.SameHeaderName.)
func stripPrefixed(h http.Header, prefix string) {
	for name := range h {
		if hasFoldedPrefix(name, prefix) {
			delete(h, name)
		}
	}
}

// hasFoldedPrefix reports whether name starts with prefix (lower case,
// '-' separators) once folded.
func hasFoldedPrefix(name, prefix string) bool {
	if len(name) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := name[i]
		switch {
		case c == '_':
			c = '-'
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

// prepareForward turns the notification request into the backend's: the
// decrypted JSON as the body, the two headers, no WeChat Pay signature
// headers and nothing that described the old body.
func prepareForward(r *http.Request, body []byte, event, id string) {
	hdr := r.Header
	stripPrefixed(hdr, wechatpayPrefix)
	for _, k := range []string{"Content-Length", "Content-Encoding", "Transfer-Encoding", "Trailer", "Content-Md5", "Digest", "Content-Digest"} {
		delete(hdr, k)
	}
	hdr.Set("Content-Type", "application/json")
	hdr.Set(HeaderEvent, event)
	hdr.Set(HeaderNotifyID, id)
	r.Method = http.MethodPost
	r.TransferEncoding = nil
	r.Trailer = nil
	r.ContentLength = int64(len(body))
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
}
