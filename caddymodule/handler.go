package caddymodule

import (
	"fmt"
	"net/http"
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
	// hold) or "classic" (GET /cgi-bin/token).
	TokenSource string `json:"token_source,omitempty"`

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
	secret, err := resolveSecret(h.AppSecret)
	if err != nil {
		return err
	}
	if !isPlaceholder(h.AppSecret) {
		h.logger.Warn("app_secret is written literally in the config, where the admin API shows it; use {env.NAME} or {file.PATH}")
	}
	h.tmpl, err = newBlockTemplate(h)
	if err != nil {
		return fmt.Errorf("wechat_jssdk: %w", err)
	}
	h.store, h.poolKey, err = acquireStore(storeParams{
		appID:   h.AppID,
		secret:  secret,
		apiBase: h.APIBase,
		classic: h.TokenSource == tokenSourceClassic,
		timeout: time.Duration(h.Timeout),
		logger:  h.logger,
	})
	return err
}

// Cleanup releases this config's hold on the shared credential store; the
// store lives on while another config (the one a reload brought) uses it.
func (h *Handler) Cleanup() error {
	if h.poolKey == "" {
		return nil
	}
	_, err := stores.Delete(h.poolKey)
	h.poolKey = ""
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
