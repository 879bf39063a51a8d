package jssdk

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/credential"
	"github.com/caddy-wechat/jssdk/caddymodule/inject"
)

// Handler injects a signed WeChat JS-SDK wx.config into every HTML page its
// route serves or proxies. It wraps the response writer; responses that are
// not 2xx HTML pass through byte for byte.
type Handler struct {
	// The WeChat Official Account AppID (wx…). Required.
	AppID string `json:"app_id,omitempty"`

	// The AppSecret. Required. `{env.NAME}` and `{file.PATH}` placeholders
	// are resolved when the config is provisioned; prefer them to a literal
	// secret, which Caddy's admin API shows to anyone who can read /config.
	AppSecret string `json:"app_secret,omitempty"`

	// Origin of the WeChat API. Default: https://api.weixin.qq.com.
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
	// X-Forwarded-* headers say it. Default: derived per request.
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

	store      *credential.Store
	poolKey    string
	detach     func() // detaches this config's storage from the store
	tmpl       blockTemplate
	mode       inject.Mode
	failClosed bool
	origin     string // normalized PublicOrigin
	logger     *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.wechat_jssdk",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision resolves the secret, builds the static parts of the injected
// block and attaches the app's shared credential store.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if err := h.applyDefaults(); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		return err
	}
	var secret string
	if h.AppSecret != "" { // optional with a token service
		s, err := resolveSecret(h.AppSecret)
		if err != nil {
			return err
		}
		secret = s
		if !isPlaceholder(h.AppSecret) {
			h.logger.Warn("app_secret is written literally in the config, where the admin API shows it; use {env.NAME} or {file.PATH}")
		}
	}
	headerName, headerValue, err := h.resolveTokenHeader()
	if err != nil {
		return err
	}
	if h.TokenHeader != nil && !strings.Contains(h.TokenHeader.Value, "{") { // "Bearer {env.KEY}" is fine
		h.logger.Warn("token_header's value is written literally in the config, where the admin API shows it; use {env.NAME} or {file.PATH}")
	}
	h.tmpl, err = newBlockTemplate(h)
	if err != nil {
		return fmt.Errorf("wechat_jssdk: %w", err)
	}
	storage, err := h.directiveStorage(ctx)
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
	h.store, h.poolKey, h.detach = entry.store, key, detach
	return nil
}

// Cleanup releases this config's hold on the shared credential store; the
// store lives on while another config (the one a reload brought) uses it.
func (h *Handler) Cleanup() error {
	if h.poolKey == "" {
		return nil
	}
	err := releaseStore(h.poolKey, h.detach)
	h.poolKey, h.detach = "", nil
	return err
}

// ServeHTTP wraps the response writer so that a 2xx HTML response gets the
// block; every other response streams through untouched.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.ConfigEndpoint != "" && originalPath(r) == h.ConfigEndpoint {
		h.serveConfig(w, r)
		return nil
	}
	if !eligibleRequest(r) {
		passedRequest.Inc()
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
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
