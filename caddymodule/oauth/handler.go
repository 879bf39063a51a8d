package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/credential"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/identity"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/logonce"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/origin"
	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// Handler signs WeChat users in through web OAuth and passes their openid
// (and unionid) to the next handlers in a request header; in WeCom mode
// (corp_id, agent_id, corp_secret) it signs WeCom users in and passes a
// member's userid or a non-member's openid. See the package documentation
// for the flow.
type Handler struct {
	// The AppID (wx…) of the Official Account whose web authorization is
	// used: the same account as wechat_jssdk's. Required, unless the
	// handler is in WeCom mode (corp_id, agent_id and corp_secret), with
	// which it cannot be used.
	AppID string `json:"app_id,omitempty"`

	// The account's AppSecret, for the code exchange. Required with app_id.
	// Write `{env.NAME}` or `{file.PATH}`: they are resolved when the
	// handler is provisioned, and a literal secret would sit in the JSON
	// config, where Caddy's admin API shows it.
	AppSecret string `json:"app_secret,omitempty"`

	// WeCom (企业微信) mode: the corp's ID (ww…, 我的企业 → 企业信息 →
	// 企业ID). Setting any of corp_id, agent_id and corp_secret puts the
	// handler in WeCom mode, which needs all three and no app_id or
	// app_secret: users are signed in with WeCom's link (appid=corp_id,
	// agentid=agent_id), the code is exchanged at
	// {api_base}/cgi-bin/auth/getuserinfo, and the upstream gets
	// X-WeCom-UserID (a member of the corp) or X-WeCom-OpenID (anyone else).
	CorpID string `json:"corp_id,omitempty"`

	// WeCom mode: the AgentId of the app whose sign-in is used (digits,
	// e.g. 1000002). Its trusted domain (可信域名) must be this site's.
	AgentID string `json:"agent_id,omitempty"`

	// WeCom mode: the app's Secret, for its access token (gettoken), which
	// getuserinfo needs. Write `{env.NAME}` or `{file.PATH}`, as for
	// app_secret. One token is held per app in the process, whatever the
	// number of sites and reloads (WeCom hands back the same token while
	// it is valid).
	CorpSecret string `json:"corp_secret,omitempty"`

	// What to ask the user for: snsapi_base (the default: silent, openid
	// only) or snsapi_userinfo (a consent page); in WeCom mode snsapi_base
	// or snsapi_privateinfo (a consent page; the private details are not
	// fetched).
	Scope string `json:"scope,omitempty"`

	// The WeChat API origin the code is exchanged at
	// (GET {api_base}/sns/oauth2/access_token). Default:
	// https://api.weixin.qq.com; in WeCom mode https://qyapi.weixin.qq.com
	// (GET {api_base}/cgi-bin/gettoken and /cgi-bin/auth/getuserinfo).
	APIBase string `json:"api_base,omitempty"`

	// WeChat's authorize page. Default:
	// https://open.weixin.qq.com/connect/oauth2/authorize. Tests and the demo
	// point it at wechat_sandbox.
	AuthorizeURL string `json:"authorize_url,omitempty"`

	// The path WeChat sends the browser back to, on this site's origin.
	// Default: /.well-known/wechat-oauth/callback; in WeCom mode
	// /.well-known/wecom-oauth/callback. The handler answers it
	// whatever the directive's matcher; the origin must be the domain set
	// for web authorization in the account's settings.
	CallbackPath string `json:"callback_path,omitempty"`

	// The request header that carries the openid upstream. Default:
	// X-WeChat-OpenID. Every copy a client sent of it, and of
	// X-WeChat-OpenID, X-WeChat-UnionID, X-WeCom-UserID and X-WeCom-OpenID
	// whatever this is set to, is removed from every request the handler
	// sees, matched or not, in any case and with '_' or '.' for '-', which
	// CGI-style backends read as the same header: only this handler may say
	// who the user is. Not used in WeCom mode, whose headers are
	// X-WeCom-UserID and X-WeCom-OpenID.
	Header string `json:"header,omitempty"`

	// The request header that carries the unionid upstream, when WeChat
	// gives one (the account is bound to an Open Platform account).
	// Default: X-WeChat-UnionID. Removed from client requests like header,
	// from which it must differ (also with '_' or '.' for '-' and in case).
	// Not used in WeCom mode.
	UnionIDHeader string `json:"unionid_header,omitempty"`

	// Which requests are signed in and given the identity headers: those
	// any of these matcher sets matches, like a route's "match"; all of
	// them when there is none. The Caddyfile puts the directive's matcher
	// (wechat_oauth /shop/* …) here and the handler in a route without
	// one. The handler removes client-sent identity headers from every
	// request it sees, matched or not, and answers callback_path
	// whatever this says; so in a JSON config, put the handler in a route
	// that every request of the site passes through and the matcher here:
	// a matcher on its route would leave the requests it does not match
	// with whatever identity headers their client sent.
	MatcherSetsRaw caddyhttp.RawMatcherSets `json:"match,omitempty" caddy:"namespace=http.matchers"`

	// The session cookie's name; the state cookie adds "_state". Default:
	// __Host-wechat_oauth over https, wechat_oauth over http; in WeCom mode
	// __Host-wechat_oauth_wecom and wechat_oauth_wecom. A name with
	// the __Host- or __Secure- prefix loses it over http, where browsers
	// would drop the cookie. At most 64 token characters, so that both
	// cookies stay far below the 4 KiB a browser keeps.
	CookieName string `json:"cookie_name,omitempty"`

	// How long a sign-in lasts: the session cookie's lifetime. Default: 7d.
	// From 1s to 400d, the longest a browser keeps a cookie.
	MaxAge caddy.Duration `json:"max_age,omitempty"`

	// What a browser that is not WeChat's gets without a session: "pass"
	// (the default: on to the next handler, without identity) or "deny"
	// (403 and a short page saying to open the link in WeChat). In WeCom
	// mode, a browser that is not WeCom's (wxwork in its User-Agent), and
	// the page says to open the link in WeCom.
	OutsideWeChat string `json:"outside_wechat,omitempty"`

	secret   string // AppSecret (CorpSecret in WeCom mode) with placeholders resolved
	matchers caddyhttp.MatcherSets
	names    identity.Names // the headers stripped from every request
	sealer   *sealer
	client   *wechat.Client
	replay   *replayCache // this process's used states
	used     *usedStates  // the cluster's, in storage
	once     *logonce.Set
	now      func() time.Time
	storage  certmagic.Storage // tests set it; nil means the config's
	logger   *zap.Logger

	// WeCom mode: the app's pooled access token, and its key in the pool
	// (empty when none is held: Cleanup releases it once).
	wecom   *credential.WeCom
	poolKey string
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.wechat_oauth",
		New: func() caddy.Module { return new(Handler) },
	}
}

// keyTimeout bounds reading (or creating) the cookie key at provision: a
// storage that hangs must fail the config load, not hold it forever.
const keyTimeout = time.Minute

// Provision resolves the secret and loads the cookie key from storage,
// creating it on first use, so that a bad secret placeholder or an
// unreachable storage fails the config load rather than a user's sign-in.
// In WeCom mode it also takes the app's pooled access token holder (which
// fetches nothing until a callback needs it); Cleanup lets go of it.
func (h *Handler) Provision(ctx caddy.Context) error {
	if h.logger == nil { // tests set their own
		h.logger = ctx.Logger()
	}
	h.applyDefaults()
	if err := h.Validate(); err != nil {
		return err
	}
	config.WarnPlainHTTP(h.logger, "wechat_oauth", "api_base", h.APIBase)
	secretOpt, rawSecret := "app_secret", h.AppSecret
	if h.weCom() {
		secretOpt, rawSecret = "corp_secret", h.CorpSecret
	}
	secret, err := config.ResolveSecret("wechat_oauth", secretOpt, rawSecret)
	if err != nil {
		return err
	}
	h.secret = secret
	if !config.IsPlaceholder(rawSecret) {
		h.logger.Warn(secretOpt + " is written literally in the config, where the admin API shows it; use {env.NAME} or {file.PATH}")
	}
	st := h.storage
	if st == nil {
		st = config.ContextStorage(ctx)
	}
	if st == nil {
		return errors.New("wechat_oauth: no storage to keep the cookie key in")
	}
	app := h.appKey()
	kctx, cancel := context.WithTimeout(ctx, keyTimeout)
	defer cancel()
	key, created, err := loadOrCreateKey(kctx, st, app)
	if err != nil {
		return err
	}
	h.sealer, err = newSealer(key, app)
	clear(key)
	if err != nil {
		return fmt.Errorf("wechat_oauth: %v", err)
	}
	h.used = newUsedStates(st, app, h.sealer)
	h.client = &wechat.Client{BaseURL: h.APIBase}
	h.names = identity.NewNames(DefaultHeader, DefaultUnionIDHeader, WeComUserIDHeader, WeComOpenIDHeader, h.Header, h.UnionIDHeader)
	if h.MatcherSetsRaw != nil {
		mods, err := ctx.LoadModule(h, "MatcherSetsRaw")
		if err != nil {
			return fmt.Errorf("wechat_oauth: match: %v", err)
		}
		if err := h.matchers.FromInterface(mods); err != nil {
			return fmt.Errorf("wechat_oauth: match: %v", err)
		}
	}
	if h.replay == nil {
		h.replay = consumedStates
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.once = new(logonce.Set)
	keyState := "read from storage"
	if created {
		keyState = "created in storage"
	}
	if h.weCom() {
		if err := h.acquireWeComToken(); err != nil {
			return err
		}
		h.logger.Info("WeCom web sign-in enabled",
			zap.String("corp_id", h.CorpID),
			zap.String("agent_id", h.AgentID),
			zap.String("scope", h.Scope),
			zap.String("callback_path", h.CallbackPath),
			zap.String("cookie_key", keyState+" at "+keyStorageKey(app)))
		return nil
	}
	h.logger.Info("WeChat web OAuth enabled",
		zap.String("app_id", h.AppID),
		zap.String("scope", h.Scope),
		zap.String("callback_path", h.CallbackPath),
		zap.String("cookie_key", keyState+" at "+keyStorageKey(app)))
	return nil
}

// Cleanup lets go of the WeCom app's pooled token holder, if the handler
// took one; the last handler of the app to go closes it. Caddy calls it
// after a reload has provisioned the new config, so a reload keeps the
// token.
func (h *Handler) Cleanup() error {
	return h.releaseWeComToken()
}

// ServeHTTP removes client-sent identity headers from every request it
// sees, answers the callback, and, on the requests its matchers match,
// passes one with a session on with the identity headers set; one without
// a session is signed in, refused or passed on anonymously. The others
// go on without identity.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	identity.Strip(r, h.names)
	https := origin.IsHTTPS(r)
	if origin.OriginalPath(r) == h.CallbackPath {
		h.serveCallback(w, r, https)
		return nil
	}
	if len(h.matchers) > 0 {
		match, err := h.matchers.AnyMatchWithError(r)
		if err != nil {
			return err // what Caddy's routes do with a matcher's error
		}
		if !match {
			return next.ServeHTTP(w, r)
		}
	}
	if s, ok := h.readSession(r, https); ok {
		h.setIdentity(r, s)
		return next.ServeHTTP(w, r)
	}
	if !h.inClient(r) {
		if h.OutsideWeChat == OutsideDeny {
			h.writeOutside(w, r)
			return nil
		}
		return next.ServeHTTP(w, r)
	}
	if !isNavigation(r) {
		h.writeSignInRequired(w)
		return nil
	}
	h.startSignIn(w, r, https)
	return nil
}

// setIdentity sets the identity headers of session s on r: the openid
// (and unionid) in Official Account mode, the userid or the openid in
// WeCom mode. A session without identity (a snapshot-page user) sets
// none.
func (h *Handler) setIdentity(r *http.Request, s session) {
	switch {
	case s.UserID != "":
		identity.Set(r, WeComUserIDHeader, s.UserID)
	case h.weCom() && s.OpenID != "":
		identity.Set(r, WeComOpenIDHeader, s.OpenID)
	case s.OpenID != "":
		identity.Set(r, h.Header, s.OpenID)
		if s.UnionID != "" {
			identity.Set(r, h.UnionIDHeader, s.UnionID)
		}
	}
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
