package paynotify

import (
	"bytes"
	"io"
	"net/http"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/identity"
)

// The headers the backend gets with a notification. Every copy a client
// sent — any case, '_' or '.' for '-', any name starting X-WeChat-Pay- —
// is removed from every request the handler sees, notification or not,
// so that a backend may trust them wherever they appear.
const (
	HeaderEvent    = "X-WeChat-Pay-Event"
	HeaderNotifyID = "X-WeChat-Pay-Notify-ID"
)

// payNames are the headers this handler vouches for; signatureNames are
// WeChat Pay's signature headers, which the backend does not get with the
// decrypted body (their signature covers the encrypted one).
var (
	payNames       = identity.NewNames("X-WeChat-Pay-*")
	signatureNames = identity.NewNames("Wechatpay-*")
)

// prepareForward turns the notification request into the backend's: the
// decrypted JSON as the body, the two headers, no WeChat Pay signature
// headers and nothing that described the old body.
func prepareForward(r *http.Request, body []byte, event, id string) {
	identity.Strip(r, signatureNames)
	hdr := r.Header
	for _, k := range []string{"Content-Length", "Content-Encoding", "Transfer-Encoding", "Trailer", "Content-Md5", "Digest", "Content-Digest"} {
		delete(hdr, k)
	}
	hdr.Set("Content-Type", "application/json")
	identity.Set(r, HeaderEvent, event)
	identity.Set(r, HeaderNotifyID, id)
	r.Method = http.MethodPost
	r.TransferEncoding = nil
	r.Trailer = nil
	r.ContentLength = int64(len(body))
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
}
