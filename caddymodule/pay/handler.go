package pay

import (
	"net/http"
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/bodyrewrite"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/logonce"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// Handler adds signed WeChat Pay JSAPI parameters to the JSON responses of
// an order-creation endpoint. It wraps the response writer; every response
// it does not sign passes through byte for byte with its headers untouched.
type Handler struct {
	// The AppID (wx…) the payment is made in: the Official Account whose
	// pages call chooseWXPay. Required.
	AppID string `json:"app_id,omitempty"`

	// Path to the merchant's API v3 private key, apiclient_key.pem (PKCS#8
	// or PKCS#1, RSA, at least 2048 bits). It is read once, when the config
	// is provisioned. `{env.NAME}` placeholders in the path are resolved.
	// Exactly one of private_key and api_key is required.
	PrivateKey string `json:"private_key,omitempty"`

	// The merchant's API v2 key (the 32-character APIv2 密钥), for the
	// legacy MD5 / HMAC-SHA256 paySign. Write `{env.NAME}` or `{file.PATH}`:
	// a literal key sits in the JSON config, where Caddy's admin API shows
	// it. Exactly one of private_key and api_key is required.
	APIKey string `json:"api_key,omitempty"`

	// The signType given to the browser and used for paySign: "RSA" (API
	// v3, the default with private_key), "MD5" (the default with api_key)
	// or "HMAC-SHA256" (API v2). Spelled exactly so: the browser passes it
	// to WeChat as it is. RSA needs private_key, the others api_key.
	SignType string `json:"sign_type,omitempty"`

	// The top-level field of the backend's JSON that holds the prepay id.
	// Default: prepay_id, the name WeChat Pay's own answer uses. A value
	// already starting with "prepay_id=" is used as the package as it is.
	// At most 128 bytes of UTF-8. Only a prepay id is signed: 1 to 64 of
	// A-Z a-z 0-9 _ - (after the optional "prepay_id="); a value with any
	// other character ("wx1&signType=MD5") passes through unsigned, and the
	// first such response is logged as a warning.
	PrepayField string `json:"prepay_field,omitempty"`

	// The top-level field the signed parameters are added under. Default:
	// wechat_pay. A response that already has it passes through untouched:
	// adding it again would give the object a member twice, which JSON
	// parsers read differently. It must differ from prepay_field; at most
	// 128 bytes of UTF-8.
	OutputField string `json:"output_field,omitempty"`

	// The largest body, in bytes, that is buffered to look for the prepay
	// field; larger bodies stream through unsigned. Default: 1 MiB; at most
	// 64 MiB. The body is held in memory until it is complete (paySign
	// goes into it, and its length changes), and an order response is a
	// few hundred bytes, so a larger body is not an order.
	MaxBody int64 `json:"max_body,omitempty"`

	signer signer
	tmpl   memberTemplate
	once   *logonce.Set     // a pointer: Handler is copied by value (CaddyModule)
	now    func() time.Time // time.Now; tests replace it after Provision
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.wechat_pay",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision applies the defaults, then loads and checks the signing key, so
// that a bad key fails the config load rather than the first payment. It
// validates first, although Caddy calls Validate after it, so that the key
// is read only for a configuration that makes sense (a missing key is
// reported as such, not as an unreadable file).
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.applyDefaults()
	if err := h.Validate(); err != nil {
		return err
	}
	s, err := h.loadSigner()
	if err != nil {
		return err
	}
	h.signer = s
	h.tmpl = newMemberTemplate(h.OutputField, h.AppID, h.SignType)
	h.once = new(logonce.Set)
	h.now = time.Now
	return nil
}

// ServeHTTP wraps the response writer so that a signable JSON response gets
// the signed parameters; everything else streams through untouched.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if !bodyrewrite.EligibleRequest(r) {
		return next.ServeHTTP(w, r)
	}
	rw := newResponseWriter(h, w, r)
	err := rw.finish(next.ServeHTTP(rw, r))
	rw.release()
	return err
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
