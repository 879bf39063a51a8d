package sandbox

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// Interface guards.
var (
	_ caddy.Module                = (*Handler)(nil)
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
	_ caddyfile.Unmarshaler       = (*Handler)(nil)
)

// directive names the handler in errors.
const directive = "wechat_sandbox"

// Defaults and the WeChat behaviour the sandbox mimics.
const (
	defaultTokenTTL = 2 * time.Hour
	// minTokenTTL keeps expires_in, which WeChat reports in whole seconds,
	// above zero.
	minTokenTTL = time.Second
	// supersededGrace is how long WeChat keeps honouring a token after a
	// newer one was issued for the same app.
	supersededGrace = 5 * time.Minute
)

// Handler is an offline emulator of the WeChat APIs the other handlers use:
// the credential API (access tokens, stable tokens and JS-API tickets), web
// OAuth, and WeChat Pay API v3 (signed calls and answers, notifications);
// with control endpoints for tests: wx.config and paySign verification,
// call counters, fault injection and chaos; and, for the demo, a small
// order backend that holds no key. See the package documentation for
// every endpoint.
//
// It answers every request it receives and never calls the next handler.
// It is meant for demos and tests only; it is NOT a production component.
type Handler struct {
	// The app ID (appid) the sandbox accepts. Required. Issued tokens and
	// tickets are kept per app ID and survive config reloads. Its shape is
	// not checked (the other handlers check theirs with wechat.ValidAppID):
	// the sandbox answers for whatever app it is told to be, and tests use
	// one made-up app ID each to keep their state apart.
	AppID string `json:"app_id,omitempty"`

	// The app secret the sandbox accepts. Required. `{env.NAME}` and
	// `{file.PATH}` placeholders are resolved when the handler is
	// provisioned, so the secret itself need not appear in the config.
	AppSecret string `json:"app_secret,omitempty"`

	// Lifetime of the access tokens, stable tokens and JS-API tickets the
	// sandbox issues. Default: 2h, as WeChat. At least 1s.
	TokenTTL caddy.Duration `json:"token_ttl,omitempty"`

	// Delay added before answering every /cgi-bin call, to emulate a slow
	// upstream in load tests. Default: 0. A request whose context ends
	// during the delay gets no answer.
	Latency caddy.Duration `json:"latency,omitempty"`

	// Path to the merchant's RSA public key (PEM: PUBLIC KEY, RSA PUBLIC
	// KEY or a certificate). With it, /sandbox/pay/verify and the stub's
	// chooseWXPay check API v3 (signType RSA) paySigns.
	MerchantPublicKey string `json:"merchant_public_key,omitempty"`

	// The merchant API key for API v2 paySigns (signType MD5 or
	// HMAC-SHA256). {env.NAME}/{file.PATH} placeholders are resolved at
	// provision time.
	APIKey string `json:"api_key,omitempty"`

	// WeChat Pay API v3 (payv3.go). The merchant ID (mchid, digits) the
	// sandbox plays WeChat Pay for: the mchid of a merchant's Authorization
	// header must be this one. Optional; without it any merchant ID whose
	// calls verify with merchant_public_key is accepted. Needed by
	// demo_backend, which names it in the orders it creates.
	MchID string `json:"mch_id,omitempty"`

	// The serial number (hex) of the merchant's API certificate: the
	// serial_no a merchant's Authorization must name. Setting it switches
	// WeChat Pay API v3 on (/v3/ calls, signed answers, notifications); it
	// then needs merchant_public_key, apiv3_key and a platform key
	// (wechatpay_private_key and/or wechatpay_certificate).
	MerchantSerial string `json:"merchant_serial,omitempty"`

	// Public-key mode: WeChat Pay's private key, whose public half the
	// merchant holds as pub_key.pem, and its ID (PUB_KEY_ID_…). Answers and
	// notifications are then signed with it and name the ID in
	// Wechatpay-Serial.
	WechatpayPrivateKey *WechatpayKey `json:"wechatpay_private_key,omitempty"`

	// Platform-certificate mode: a platform certificate and its private
	// key. Answers and notifications are then signed with the key and name
	// the certificate's serial in Wechatpay-Serial, and GET
	// /v3/certificates hands out the certificate, encrypted with apiv3_key.
	// With wechatpay_private_key as well (a migration), the sandbox signs
	// with one and the other in turn, so that a merchant's verifier meets
	// both.
	WechatpayCertificate *WechatpayCertificate `json:"wechatpay_certificate,omitempty"`

	// The merchant's APIv3 key (32 bytes), which WeChat Pay and the
	// merchant share: notifications' resources and /v3/certificates'
	// entries are encrypted with it (AEAD_AES_256_GCM). Required with
	// merchant_serial. `{env.NAME}` and `{file.PATH}` placeholders are
	// resolved at provision time.
	APIv3Key string `json:"apiv3_key,omitempty"`

	// The demo's order backend (demo.go), played by the sandbox with no
	// key of any kind: /demo/orders creates orders by calling WeChat Pay
	// through the site's wechat_pay_api route with plain HTTP, and
	// /demo/notify takes the notifications wechat_pay_notify has verified
	// and decrypted. Needs mch_id.
	DemoBackend *DemoBackend `json:"demo_backend,omitempty"`

	// Origins (scheme://host[:port], as the browser sends them in Origin)
	// of the sites whose pages load the stub jweixin from this sandbox:
	// only pages on these origins may read the answers of /sandbox/verify
	// and /sandbox/pay/verify, which the stub calls. Default: none, which
	// is enough when the pages and the sandbox share an origin. The control
	// calls (/sandbox/fault, chaos, reset, rotate) are never open to any
	// page, whatever this says.
	AllowOrigins []string `json:"allow_origins,omitempty"`

	// The WeCom corp the sandbox also plays: corp_id and agents (wecom.go).
	WeCom

	// secret is AppSecret with placeholders resolved.
	secret string
	// merchantKey and apiKey check paySigns (MerchantPublicKey, APIKey);
	// merchantKey also checks a merchant's v3 calls.
	merchantKey *rsa.PublicKey
	apiKey      string
	// v3 holds WeChat Pay's side of API v3; nil while merchant_serial is
	// unset (payv3.go).
	v3 *payV3
	// state is the per-app state shared through pool.
	state *state
	// journal keeps the issued tickets across restarts (journal.go).
	journal *ticketJournal
	// pooled records that Provision took a reference on pool that Cleanup
	// has yet to release. It is separate from state so that Cleanup never
	// writes a field that requests still in flight read.
	pooled bool
	logger *zap.Logger
	// now is the clock; nil means time.Now. Tests replace it to move time
	// without sleeping.
	now func() time.Time
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.wechat_sandbox",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision applies the token_ttl default, resolves the placeholders of
// app_secret, api_key and apiv3_key, reads merchant_public_key and the
// WeChat Pay platform keys, and attaches the
// handler to the state of its app ID, creating the state on first use (and
// restoring the tickets journaled in Caddy's storage).
func (h *Handler) Provision(ctx caddy.Context) error {
	if h.logger == nil { // tests set their own
		h.logger = ctx.Logger()
	}
	if h.TokenTTL == 0 {
		h.TokenTTL = caddy.Duration(defaultTokenTTL)
	}
	if h.AppSecret != "" {
		// errOnUnknown is false: an unrecognised {…} stays literal, and the
		// error text, which names the placeholder, never carries the secret.
		secret, err := caddy.NewReplacer().ReplaceOrErr(h.AppSecret, true, false)
		if err != nil {
			return fmt.Errorf("%s: app_secret: %v", directive, err)
		}
		if secret == "" {
			return errors.New(directive + ": app_secret: empty after resolving placeholders")
		}
		h.secret = secret
	}
	if h.MerchantPublicKey != "" {
		k, err := loadPublicKey(h.MerchantPublicKey)
		if err != nil {
			return fmt.Errorf("%s: merchant_public_key: %v", directive, err)
		}
		h.merchantKey = k
	}
	if h.APIKey != "" {
		key, err := caddy.NewReplacer().ReplaceOrErr(h.APIKey, true, false)
		if err != nil {
			return fmt.Errorf("%s: api_key: %v", directive, err)
		}
		h.apiKey = key
	}
	if err := h.provisionWeCom(); err != nil { // the agents' secrets (wecom.go)
		return err
	}
	if h.MerchantSerial != "" {
		v3, err := h.loadPayV3()
		if err != nil {
			return err
		}
		h.v3 = v3
	}
	h.journal = newTicketJournal(ctx, h.AppID, h.logger)
	val, _, err := pool.LoadOrNew(h.AppID, func() (caddy.Destructor, error) {
		s := newState()
		h.journal.restore(s, h.clock()) // tickets issued before a restart
		return s, nil
	})
	if err != nil {
		return err
	}
	h.state = val.(*state)
	h.pooled = true
	h.logger.Warn("wechat_sandbox is an offline WeChat API emulator for demos and tests only, never for production: "+
		"it issues tokens to anyone who knows the configured app_id and secret, and its /sandbox/ control calls "+
		"(fault, chaos, reset, rotate) are unauthenticated",
		zap.String("app_id", h.AppID),
		zap.Strings("allow_origins", h.AllowOrigins))
	if v := h.v3; v != nil {
		var serials []string
		if v.pubKey != nil {
			serials = append(serials, v.pubKeyID)
		}
		if v.certKey != nil {
			serials = append(serials, v.certSerial)
		}
		h.logger.Info("wechat_sandbox plays WeChat Pay API v3",
			zap.String("mch_id", v.mchID), zap.String("merchant_serial", v.merchantSerial),
			zap.Strings("wechatpay_serials", serials), zap.Bool("demo_backend", h.DemoBackend != nil))
	}
	return nil
}

// Validate checks the configuration. It reads no file and changes
// nothing, so the Caddyfile adapter runs it too; its errors name the
// directive and the option, never the value of a secret.
func (h *Handler) Validate() error {
	if h.AppID == "" {
		return errors.New(directive + ": app_id is required")
	}
	if h.AppSecret == "" {
		return errors.New(directive + ": app_secret is required")
	}
	if h.TokenTTL != 0 && time.Duration(h.TokenTTL) < minTokenTTL {
		return fmt.Errorf("%s: token_ttl must be at least %s, got %s", directive, minTokenTTL, time.Duration(h.TokenTTL))
	}
	if h.Latency < 0 {
		return fmt.Errorf("%s: latency must not be negative, got %s", directive, time.Duration(h.Latency))
	}
	for _, o := range h.AllowOrigins {
		if err := checkOrigin(o); err != nil {
			return fmt.Errorf("%s: allow_origins: %v", directive, err)
		}
	}
	if err := h.validateWeCom(); err != nil {
		return err
	}
	return h.validatePayV3()
}

// Cleanup releases the handler's reference to its app's state. The state
// itself lives on while another config (the one a reload brings in)
// still uses the same app ID.
func (h *Handler) Cleanup() error {
	if !h.pooled {
		return nil
	}
	h.pooled = false
	_, err := pool.Delete(h.AppID)
	return err
}

// Request paths the sandbox answers.
const (
	pathToken       = "/cgi-bin/token"
	pathStableToken = "/cgi-bin/stable_token"
	pathTicket      = "/cgi-bin/ticket/getticket"
	pathVerify      = "/sandbox/verify"
	pathStats       = "/sandbox/stats"
	pathFault       = "/sandbox/fault"
	pathReset       = "/sandbox/reset"
	pathJweixin     = "/sandbox/jweixin.js"
	pathPayVerify   = "/sandbox/pay/verify"
	pathPayNotified = "/sandbox/pay/notifications"
)

// ServeHTTP answers r. The handler is terminal: next is never called, so
// that a request for a path the sandbox does not know gets WeChat's
// "invalid url" instead of whatever comes after it in the route.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	switch r.URL.Path {
	case pathToken:
		h.serveCGI(w, r, endpointToken, h.serveToken)
	case pathStableToken:
		h.serveCGI(w, r, endpointStableToken, h.serveStableToken)
	case pathTicket:
		h.serveCGI(w, r, endpointTicket, h.serveTicket)
	case pathVerify:
		h.allowStubOrigin(w, r) // the stub's checks only (cors.go)
		h.state.count(endpointVerify)
		h.serveVerify(w, r)
	case pathStats:
		h.serveStats(w, r)
	case pathFault:
		h.serveFault(w, r)
	case pathReset:
		h.serveReset(w, r)
	case pathRotate:
		h.serveRotate(w, r)
	case pathChaos:
		h.serveChaos(w, r)
	case pathJweixin:
		h.serveJweixin(w, r)
	case pathPayNotified:
		h.serveNotifications(w, r)
	case pathPayVerify:
		h.allowStubOrigin(w, r)
		h.servePayVerify(w, r)
	case pathOAuthAuthorize:
		h.serveAuthorize(w, r)
	case pathOAuthToken:
		h.serveOAuthToken(w, r)
	default:
		switch {
		case h.serveWeCom(w, r): // WeCom's paths, when it plays a corp (wecom.go)
		case strings.HasPrefix(r.URL.Path, pathV3Prefix):
			h.serveV3(w, r) // WeChat Pay API v3 (payv3.go)
		case strings.HasPrefix(r.URL.Path, pathDemoPrefix):
			h.serveDemo(w, r) // the demo's order backend (demo.go)
		default:
			writeWeChatError(w, http.StatusNotFound, codeInvalidURL)
		}
	}
	return nil
}

// serveCGI counts a call to one of the emulated WeChat endpoints, applies
// the configured latency and any pending fault, then lets serve answer.
func (h *Handler) serveCGI(w http.ResponseWriter, r *http.Request, ep endpoint, serve http.HandlerFunc) {
	h.state.count(ep)
	if !h.chaosFirst(w, r) { // standing faults of /sandbox/chaos (chaos.go)
		return
	}
	if err := sleepCtx(r.Context(), time.Duration(h.Latency)); err != nil {
		// The client has gone: there is nobody to answer.
		return
	}
	if f, ok := h.state.takeFault(ep); ok {
		h.logger.Debug("answering with an injected fault",
			zap.String("endpoint", string(ep)),
			zap.Int("errcode", f.ErrCode),
			zap.Int("http_status", f.HTTPStatus))
		f.answer(w, r)
		return
	}
	serve(w, r)
}

// clock returns the current time.
func (h *Handler) clock() time.Time {
	if h.now != nil {
		return h.now()
	}
	return time.Now()
}

// ttl returns the lifetime of issued credentials.
func (h *Handler) ttl() time.Duration { return time.Duration(h.TokenTTL) }

// sleepCtx waits for d, or until ctx ends, in which case it returns ctx's
// error.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
