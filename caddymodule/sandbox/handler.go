package sandbox

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
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
// OAuth, and WeChat Pay's order creation; with control endpoints for tests:
// wx.config and paySign verification, call counters, fault injection and
// chaos. See the package documentation for every endpoint.
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
	// merchantKey and apiKey check paySigns (MerchantPublicKey, APIKey).
	merchantKey *rsa.PublicKey
	apiKey      string
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
// app_secret and api_key, reads merchant_public_key, and attaches the
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
			return fmt.Errorf("app_secret: %v", err)
		}
		if secret == "" {
			return errors.New("app_secret: empty after resolving placeholders")
		}
		h.secret = secret
	}
	if h.MerchantPublicKey != "" {
		k, err := loadPublicKey(h.MerchantPublicKey)
		if err != nil {
			return fmt.Errorf("merchant_public_key: %v", err)
		}
		h.merchantKey = k
	}
	if h.APIKey != "" {
		key, err := caddy.NewReplacer().ReplaceOrErr(h.APIKey, true, false)
		if err != nil {
			return fmt.Errorf("api_key: %v", err)
		}
		h.apiKey = key
	}
	if err := h.provisionWeCom(); err != nil { // the agents' secrets (wecom.go)
		return err
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
	return nil
}

// Validate checks the configuration.
func (h *Handler) Validate() error {
	if h.AppID == "" {
		return errors.New("app_id is required")
	}
	if h.AppSecret == "" {
		return errors.New("app_secret is required")
	}
	if h.TokenTTL != 0 && time.Duration(h.TokenTTL) < minTokenTTL {
		return fmt.Errorf("token_ttl must be at least %s, got %s", minTokenTTL, time.Duration(h.TokenTTL))
	}
	if h.Latency < 0 {
		return fmt.Errorf("latency must not be negative, got %s", time.Duration(h.Latency))
	}
	for _, o := range h.AllowOrigins {
		if err := checkOrigin(o); err != nil {
			return fmt.Errorf("allow_origins: %v", err)
		}
	}
	return h.validateWeCom()
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
	pathPayOrder    = "/sandbox/pay/transactions/jsapi"
	pathPayVerify   = "/sandbox/pay/verify"
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
	case pathPayOrder:
		h.serveOrder(w, r)
	case pathPayVerify:
		h.allowStubOrigin(w, r)
		h.servePayVerify(w, r)
	case pathOAuthAuthorize:
		h.serveAuthorize(w, r)
	case pathOAuthToken:
		h.serveOAuthToken(w, r)
	default:
		if !h.serveWeCom(w, r) { // WeCom's paths, when it plays a corp (wecom.go)
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
