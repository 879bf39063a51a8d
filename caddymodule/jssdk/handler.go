// Package jssdk is the wechat_jssdk handler: it injects a correctly signed
// WeChat JS-SDK wx.config into every HTML page its route serves or proxies,
// answers the optional config endpoint that re-signs for single-page apps,
// and shares one credential store per WeChat app across sites and config
// reloads.
//
// It is laid out like Caddy's encode handler, one concern a file, each
// calling only "down" the list:
//
//	handler.go         the module: configuration, defaults, Validate, Provision, ServeHTTP
//	caddyfile.go       the directive and its route (also matching config_endpoint)
//	responsewriter.go  decides per response at the header; streams pages through the injector
//	endpoint.go        the config endpoint (?url=…)
//	block.go           the injected <script> block: wx.config JSON and the boot script
//	csp.go             the page's Content-Security-Policy: its nonce, and what the boot script needs
//	store.go           the pooled credential store per app and Caddy storage as its L2
//	wecom.go           WeCom (企业微信) mode: its options, checks and Provision
//	block_wecom.go     the WeCom block: wx.config with the corp ticket, wx.agentConfig with the app's
//	store_wecom.go     the pooled WeCom stores (one token, two tickets) per app
//	admin.go, metrics.go  admin.api.wechat_jssdk and the caddy_wechat_* metrics
//	admin_wecom.go     the WeCom apps in the admin API (listing, refresh)
//	once.go            what is logged once per cause (a Host on another port)
//
// What needs no Caddy lives in the libraries beside it (wechat, credential,
// sign, inject); what another handler needs too lives in internal/.
package jssdk

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/inject"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/logonce"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/origin"
	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// DefaultSDKURL is where the boot script loads jweixin from when the page
// did not load it itself.
const DefaultSDKURL = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"

// DefaultTimeout bounds how long a page waits for WeChat on a cold cache.
const DefaultTimeout = 5 * time.Second

// DefaultJSAPIList is the jsApiList used when js_api_list is not set: the
// sharing, media, location, scanning and payment APIs most pages use.
// Listing an API the account may not use does not fail wx.config.
var DefaultJSAPIList = []string{
	"updateAppMessageShareData",
	"updateTimelineShareData",
	"onMenuShareAppMessage",
	"onMenuShareTimeline",
	"chooseImage",
	"previewImage",
	"getLocation",
	"openLocation",
	"scanQRCode",
	"chooseWXPay",
	"hideMenuItems",
	"showMenuItems",
	"closeWindow",
}

const (
	tokenSourceStable  = "stable"
	tokenSourceClassic = "classic"
	tokenSourceURL     = "url"
	injectHead         = "head"
	injectBody         = "body"
	onErrorPass        = "pass"
	onErrorFail        = "fail"
	sdkOff             = "off"
)

// Handler injects a signed WeChat JS-SDK wx.config into every HTML page its
// route serves or proxies. It wraps the response writer; responses that are
// not 2xx HTML pass through byte for byte.
type Handler struct {
	// The WeChat Official Account AppID (wx…). Required, unless corp_id
	// configures a WeCom app instead.
	AppID string `json:"app_id,omitempty"`

	// The AppSecret. Required with app_id. `{env.NAME}` and `{file.PATH}`
	// placeholders are resolved when the config is provisioned; prefer them
	// to a literal secret, which Caddy's admin API shows to anyone who can
	// read /config.
	AppSecret string `json:"app_secret,omitempty"`

	// WeCom (企业微信) mode: the corp's ID (ww…; wx… for corps from the
	// 企业号 era). With it, agent_id and corp_secret are required and
	// app_id, app_secret, token_source, token_url and token_header are
	// refused. The page gets wx.config signed with the corp's jsapi_ticket
	// (appId = corp_id, beta: true) and wx.agentConfig signed with the
	// app's agent_config ticket.
	CorpID string `json:"corp_id,omitempty"`

	// WeCom mode: the app's AgentId (digits, e.g. 1000002).
	AgentID string `json:"agent_id,omitempty"`

	// WeCom mode: the app's Secret (each app of a corp has its own).
	// Placeholders and the warning on a literal are as for app_secret.
	CorpSecret string `json:"corp_secret,omitempty"`

	// WeCom mode: the most corp jsapi_ticket calls (get_jsapi_ticket) this
	// instance makes in any hour. WeCom allows about 400 an hour per corp,
	// at most 100 per app; a healthy instance makes about one every 80
	// minutes. 1 to 100; default 20 (credential.DefaultCorpTicketBudget).
	CorpTicketBudget int `json:"corp_ticket_budget,omitempty"`

	// WeCom mode: the most agent_config ticket calls (ticket/get) this
	// instance makes in any hour. WeCom allows about 100 an hour per app.
	// 1 to 100; default 30 (credential.DefaultAgentTicketBudget).
	AgentTicketBudget int `json:"agent_ticket_budget,omitempty"`

	// WeCom mode: the APIs passed to wx.agentConfig as its jsApiList (the
	// ones that need the app's identity: selectExternalContact,
	// openUserProfile, …). Default: js_api_list.
	AgentJSAPIList []string `json:"agent_js_api_list,omitzero"`

	// Origin of the WeChat API. Default: https://api.weixin.qq.com, or
	// https://qyapi.weixin.qq.com in WeCom mode.
	APIBase string `json:"api_base,omitempty"`

	// How the access_token is obtained: "stable" (POST /cgi-bin/stable_token,
	// the default: it never invalidates tokens other services of the same app
	// hold), "classic" (GET /cgi-bin/token) or "url" (a central token
	// service, see TokenURL).
	TokenSource string `json:"token_source,omitempty"`

	// With token_source url: the central token service's endpoint, asked
	// with GET for {"access_token": "…", "expires_in": N} (or WeChat's error
	// JSON). WeChat's token endpoints are then never called, and app_secret
	// is not needed; tickets still come from api_base.
	TokenURL string `json:"token_url,omitempty"`

	// With token_source url: a header sent to the token service, typically
	// to authenticate.
	TokenHeader *TokenHeader `json:"token_header,omitempty"`

	// Where the credential is shared with the other instances of the app:
	// a Caddy storage module (caddy.storage.file_system,
	// caddy.storage.redis, …). Default: Caddy's configured storage (the
	// `storage` global option, the file system by default).
	StorageRaw json.RawMessage `json:"storage,omitempty" caddy:"namespace=caddy.storage inline_key=module"`

	// JS-SDK APIs the page may call, passed to wx.config as jsApiList.
	// Default: DefaultJSAPIList. An explicitly empty list is kept empty (for
	// pages that only use open tags).
	JSAPIList []string `json:"js_api_list,omitzero"`

	// Open tags (wx-open-launch-weapp, …) passed to wx.config as openTagList.
	OpenTagList []string `json:"open_tag_list,omitempty"`

	// Sets wx.config's debug flag, which makes WeChat alert every result.
	Debug bool `json:"debug,omitempty"`

	// Where the boot script loads jweixin from when the page did not load it
	// itself. An absolute http(s) URL or a path on this site; "off" never
	// loads it. Default: DefaultSDKURL.
	SDKURL string `json:"sdk_url,omitempty"`

	// Where the block goes: "head" (before </head>, the default) or "body"
	// (before </body>). When the chosen tag is missing the other one is used,
	// and when both are missing the block is appended to the body.
	Inject string `json:"inject,omitempty"`

	// The origin (scheme://host[:port]) the browser uses to reach this site,
	// for deployments where neither the request nor a trusted proxy's
	// X-Forwarded-* headers say it, such as a port mapping in front of Caddy
	// (Docker -p 8080:80). Default: derived per request, where a Host whose
	// port is not the one the request arrived on is not signed for.
	PublicOrigin string `json:"public_origin,omitempty"`

	// What a page gets when no jsapi_ticket can be had: "pass" (the default)
	// serves it unmodified; "fail" answers 503 instead.
	OnError string `json:"on_error,omitempty"`

	// A path (e.g. /.well-known/wechat-jssdk/config) where GET ?url=<page
	// URL> answers the page's wx.config as JSON, for frontends that call
	// wx.config themselves and for the boot script, which re-signs after a
	// history-mode router changes the URL. It is answered even where the
	// directive's matcher does not reach. Off by default.
	ConfigEndpoint string `json:"config_endpoint,omitempty"`

	// The longest a page waits for WeChat (token and ticket together) on a
	// cold cache. Default: 5s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	pages   pageSigner // what the response writer and the endpoint sign with
	poolKey string
	detach  func() // detaches this config's storage from the store
	logger  *zap.Logger
}

// TokenHeader is a header sent to the central token service, typically to
// authenticate.
type TokenHeader struct {
	// The header's name, like Authorization or X-Api-Key.
	Name string `json:"name,omitempty"`
	// The header's value. `{env.NAME}` and `{file.PATH}` placeholders are
	// resolved when the config is provisioned; prefer them to a literal
	// value, which Caddy's admin API shows to anyone who can read /config.
	// It is never logged.
	Value string `json:"value,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.wechat_jssdk",
		New: func() caddy.Module { return new(Handler) },
	}
}

// applyDefaults fills in every option left unset. It sets configuration
// only; what is derived from it is Provision's.
func (h *Handler) applyDefaults() {
	if h.weCom() {
		// token_source stays unset: WeCom has one token endpoint, and a
		// token_source written with corp_id is refused by Validate.
		h.applyWeComDefaults()
	}
	if h.APIBase == "" {
		h.APIBase = wechat.DefaultBaseURL
	}
	if h.TokenSource == "" && !h.weCom() {
		h.TokenSource = tokenSourceStable
	}
	if h.JSAPIList == nil {
		h.JSAPIList = DefaultJSAPIList
	}
	if h.AgentJSAPIList == nil && h.weCom() {
		h.AgentJSAPIList = h.JSAPIList
	}
	if h.SDKURL == "" {
		h.SDKURL = DefaultSDKURL
	}
	if h.Inject == "" {
		h.Inject = injectHead
	}
	if h.OnError == "" {
		h.OnError = onErrorPass
	}
	if h.Timeout == 0 {
		h.Timeout = caddy.Duration(DefaultTimeout)
	}
}

// Validate reports the first problem of the defaulted configuration,
// naming the option. It changes nothing: the Caddyfile adapter runs it on a
// defaulted copy, so `caddy adapt` and `caddy run` refuse the same values.
func (h *Handler) Validate() error {
	if err := h.validateMode(); err != nil {
		return err
	}
	if h.weCom() {
		if err := h.validateWeCom(); err != nil {
			return err
		}
		return h.validatePage()
	}
	if h.AppID == "" {
		return errors.New("wechat_jssdk: app_id is required")
	}
	if !wechat.ValidAppID(h.AppID) {
		return fmt.Errorf("wechat_jssdk: app_id %q is not a WeChat AppID (wx followed by letters and digits)", h.AppID)
	}
	if h.AppSecret == "" && h.TokenSource != tokenSourceURL {
		return errors.New("wechat_jssdk: app_secret is required")
	}
	if err := config.CheckHTTPURL(h.APIBase, false); err != nil {
		return fmt.Errorf("wechat_jssdk: api_base: %w", err)
	}
	if err := h.validateTokenSource(); err != nil {
		return err
	}
	return h.validatePage()
}

// validatePage checks the options about the page and the block, the same
// in both modes.
func (h *Handler) validatePage() error {
	// A path on this site is fine; "//host/…" is another site without a
	// scheme, checked as a URL (and refused).
	if h.SDKURL != sdkOff && !(strings.HasPrefix(h.SDKURL, "/") && !strings.HasPrefix(h.SDKURL, "//")) {
		if err := config.CheckHTTPURL(h.SDKURL, true); err != nil {
			return fmt.Errorf("wechat_jssdk: sdk_url: %w (want an http(s) URL, a path, or off)", err)
		}
	}
	if h.Inject != injectHead && h.Inject != injectBody {
		return fmt.Errorf("wechat_jssdk: inject: %q is not head or body", h.Inject)
	}
	if h.OnError != onErrorPass && h.OnError != onErrorFail {
		return fmt.Errorf("wechat_jssdk: on_error: %q is not pass or fail", h.OnError)
	}
	if h.PublicOrigin != "" {
		if _, err := origin.Normalize(h.PublicOrigin); err != nil {
			return fmt.Errorf("wechat_jssdk: public_origin: %w", err)
		}
	}
	if h.ConfigEndpoint != "" && (!strings.HasPrefix(h.ConfigEndpoint, "/") ||
		strings.ContainsAny(h.ConfigEndpoint, "?#*{} \t") || !config.ValidPathChars(h.ConfigEndpoint)) {
		return fmt.Errorf("wechat_jssdk: config_endpoint: %q is not a plain absolute path", h.ConfigEndpoint)
	}
	if h.Timeout < 0 {
		return fmt.Errorf("wechat_jssdk: timeout: %s is negative", time.Duration(h.Timeout))
	}
	for _, list := range []struct {
		opt   string
		names []string
	}{{"js_api_list", h.JSAPIList}, {"open_tag_list", h.OpenTagList}, {"agent_js_api_list", h.AgentJSAPIList}} {
		for _, name := range list.names {
			if !validListName(name) {
				return fmt.Errorf("wechat_jssdk: %s: %q is not a JS-SDK API or open tag name", list.opt, name)
			}
		}
	}
	return nil
}

// validateTokenSource checks token_source with token_url and token_header.
func (h *Handler) validateTokenSource() error {
	switch h.TokenSource {
	case tokenSourceStable, tokenSourceClassic:
		if h.TokenURL != "" {
			return errors.New("wechat_jssdk: token_url: only used with token_source url")
		}
		if h.TokenHeader != nil {
			return errors.New("wechat_jssdk: token_header: only used with token_source url")
		}
	case tokenSourceURL:
		if h.TokenURL == "" {
			return errors.New("wechat_jssdk: token_source: url needs the token service's endpoint (token_source url <endpoint>)")
		}
		if config.CheckHTTPURL(h.TokenURL, true) != nil {
			// not quoted: its query may carry a key
			return errors.New("wechat_jssdk: token_source: url: the endpoint must be an http(s) URL with a host, without user info or fragment")
		}
		if hd := h.TokenHeader; hd != nil && (!config.ValidHeaderName(hd.Name) || hd.Value == "") {
			return fmt.Errorf("wechat_jssdk: token_header: want a header name and a value, got name %q", hd.Name)
		}
	default:
		return fmt.Errorf("wechat_jssdk: token_source: %q is not stable, classic or url", h.TokenSource)
	}
	return nil
}

// validListName accepts what can be a JS-SDK API or open tag name; the
// names go into the page's JSON, so nothing else is let through.
func validListName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Provision applies the defaults, resolves the secrets, builds the static
// parts of the injected block and attaches the app's shared credential
// store.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.applyDefaults()
	if err := h.Validate(); err != nil {
		return err
	}
	if h.weCom() {
		return h.provisionWeCom(ctx)
	}
	config.WarnPlainHTTP(h.logger, "wechat_jssdk", "api_base", h.APIBase)
	config.WarnPlainHTTP(h.logger, "wechat_jssdk", "token_url", h.TokenURL) // "" unless token_source url
	var secret string
	if h.AppSecret != "" { // optional with a token service
		s, err := config.ResolveSecret("wechat_jssdk", "app_secret", h.AppSecret)
		if err != nil {
			return err
		}
		secret = s
		if !config.IsPlaceholder(h.AppSecret) {
			h.logger.Warn("app_secret is written literally in the config, where the admin API shows it; use {env.NAME} or {file.PATH}")
		}
	}
	headerName, headerValue, err := resolveTokenHeader(h.TokenHeader)
	if err != nil {
		return err
	}
	if h.TokenHeader != nil && !strings.Contains(h.TokenHeader.Value, "{") { // "Bearer {env.KEY}" is fine
		h.logger.Warn("token_header's value is written literally in the config, where the admin API shows it; use {env.NAME} or {file.PATH}")
	}
	if err := h.preparePages(); err != nil {
		return err
	}
	storage, err := directiveStorage(ctx, h)
	if err != nil {
		return err
	}
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("wechat_jssdk: metrics: %w", err)
	}
	p := storeParams{
		appID:   h.AppID,
		secret:  secret,
		apiBase: h.APIBase,
		classic: h.TokenSource == tokenSourceClassic,
		timeout: time.Duration(h.Timeout),
		logger:  h.logger,
		storage: storage,
	}
	if h.TokenSource == tokenSourceURL {
		p.serviceURL, p.serviceHeader, p.serviceHeaderValue = h.TokenURL, headerName, headerValue
	}
	entry, key, detach, err := acquireStore(p)
	if err != nil {
		return err
	}
	h.pages.store, h.poolKey, h.detach = entry.store, key, detach
	return nil
}

// preparePages derives from the validated configuration everything a page
// is signed with but the store: the block template, the injector's mode,
// the normalized public origin.
func (h *Handler) preparePages() error {
	tmpl, err := newBlockTemplate(h.blockOptions())
	if err != nil {
		return fmt.Errorf("wechat_jssdk: %w", err)
	}
	h.pages.tmpl = tmpl
	h.pages.wecom = nil
	if h.weCom() {
		w := newWeComTemplate(h.weComBlockOptions())
		h.pages.wecom = &w
	}
	h.pages.timeout = time.Duration(h.Timeout)
	h.pages.failClosed = h.OnError == onErrorFail
	h.pages.mode = inject.Head
	if h.Inject == injectBody {
		h.pages.mode = inject.Body
	}
	h.pages.logger = h.logger
	if h.pages.logger == nil { // a handler prepared without Provision, in a test
		h.pages.logger = zap.NewNop()
	}
	h.pages.once = new(logonce.Set)
	h.pages.origin = ""
	if h.PublicOrigin != "" {
		h.pages.origin, _ = origin.Normalize(h.PublicOrigin) // Validate accepted it
	}
	return nil
}

// blockOptions is what of the configuration goes into the injected block.
func (h *Handler) blockOptions() blockOptions {
	appID := h.AppID
	if h.weCom() {
		appID = h.CorpID // wx.config's appId is the corp ID
	}
	return blockOptions{
		appID:          appID,
		debug:          h.Debug,
		jsAPIList:      h.JSAPIList,
		openTagList:    h.OpenTagList,
		sdkURL:         h.SDKURL,
		configEndpoint: h.ConfigEndpoint,
		wecom:          h.weCom(),
	}
}

// Cleanup releases this config's hold on the shared credential store; the
// store lives on while another config (the one a reload brought) uses it.
func (h *Handler) Cleanup() error {
	if h.poolKey == "" {
		return nil
	}
	var err error
	if isWeComKey(h.poolKey) {
		err = releaseWeCom(h.poolKey, h.detach)
	} else {
		err = releaseStore(h.poolKey, h.detach)
	}
	h.poolKey, h.detach = "", nil
	return err
}

// ServeHTTP answers the config endpoint, or wraps the response writer so
// that a 2xx HTML response gets the block; every other response streams
// through untouched.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.ConfigEndpoint != "" && origin.OriginalPath(r) == h.ConfigEndpoint {
		h.pages.serveConfig(w, r)
		return nil
	}
	if !eligibleRequest(r) {
		passedRequest.Inc()
		return next.ServeHTTP(w, r)
	}
	rw := newResponseWriter(&h.pages, w, r)
	err := rw.finish(next.ServeHTTP(rw, r))
	rw.release()
	return err
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
