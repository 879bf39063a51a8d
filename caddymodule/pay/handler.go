package pay

import (
	"net/http"
	"time"

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
	// or "HMAC-SHA256" (API v2).
	SignType string `json:"sign_type,omitempty"`

	// The top-level field of the backend's JSON that holds the prepay id.
	// Default: prepay_id. A value already starting with "prepay_id=" is used
	// as the package as it is.
	PrepayField string `json:"prepay_field,omitempty"`

	// The top-level field the signed parameters are added under. Default:
	// wechat_pay. A response that already has it passes through untouched.
	OutputField string `json:"output_field,omitempty"`

	// The largest body, in bytes, that is buffered to look for the prepay
	// field; larger bodies stream through unsigned. Default: 1 MiB.
	MaxBody int64 `json:"max_body,omitempty"`

	signer signer
	tmpl   memberTemplate
	once   *logonce.Set     // a pointer: Handler is copied by value (CaddyModule)
	now    func() time.Time // time.Now, or a test clock
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.wechat_pay",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision loads and checks the signing key, so that a bad key fails the
// config load rather than the first payment.
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
	if h.now == nil {
		h.now = time.Now
	}
	return nil
}

// ServeHTTP wraps the response writer so that a signable JSON response gets
// the signed parameters; everything else streams through untouched.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if !eligibleRequest(r) {
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
