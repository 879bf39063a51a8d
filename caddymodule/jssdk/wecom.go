package jssdk

import (
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// WeCom (企业微信) mode: corp_id, agent_id and corp_secret instead of
// app_id and app_secret. A WeCom H5 app calls wx.config, signed with the
// corp's jsapi_ticket, and wx.agentConfig, signed with the app's own
// (agent_config) ticket; both tickets are fetched with the app's one
// access token (gettoken). The credential side is credential.NewWeCom;
// this file is the configuration and Provision.

// maxTicketBudget is the highest corp_ticket_budget and
// agent_ticket_budget: WeCom allows an app about 100 calls an hour of each
// ticket, so a budget above that would only let WeCom refuse.
const maxTicketBudget = 100

// weCom reports whether the configuration is in WeCom mode: any of the
// three WeCom credential options is set. Validate then requires all three.
func (h *Handler) weCom() bool {
	return h.CorpID != "" || h.AgentID != "" || h.CorpSecret != ""
}

// DefaultWeComSDKURL is what the boot script loads in WeCom mode when the
// page brought no SDK: WeCom's current JS-SDK, @wecom/jssdk, as the global
// build WeCom serves (its documentation: "通过 script 标签引入"). WeCom's
// client does not support jweixin 1.6.0, DefaultSDKURL.
const DefaultWeComSDKURL = "https://wwcdn.weixin.qq.com/node/open/js/wecom-jssdk-2.4.0.js"

// applyWeComDefaults fills in what WeCom mode defaults differently.
func (h *Handler) applyWeComDefaults() {
	if h.APIBase == "" {
		h.APIBase = wechat.DefaultWeComBaseURL
	}
	if h.SDKURL == "" {
		h.SDKURL = DefaultWeComSDKURL
	}
}

// validateMode refuses a configuration that mixes the two kinds of app,
// naming the options of each kind that were written.
func (h *Handler) validateMode() error {
	if !h.weCom() {
		for _, o := range []struct {
			name string
			set  bool
		}{
			{"corp_ticket_budget", h.CorpTicketBudget != 0},
			{"agent_ticket_budget", h.AgentTicketBudget != 0},
			{"agent_js_api_list", h.AgentJSAPIList != nil},
		} {
			if o.set {
				return fmt.Errorf("wechat_jssdk: %s: only used in WeCom mode (with corp_id, agent_id and corp_secret)", o.name)
			}
		}
		return nil
	}
	var oa, wecom []string
	for _, o := range []struct {
		name string
		set  bool
	}{
		{"app_id", h.AppID != ""},
		{"app_secret", h.AppSecret != ""},
		{"token_source", h.TokenSource != ""},
		{"token_url", h.TokenURL != ""},
		{"token_header", h.TokenHeader != nil},
	} {
		if o.set {
			oa = append(oa, o.name)
		}
	}
	for _, o := range []struct {
		name string
		set  bool
	}{{"corp_id", h.CorpID != ""}, {"agent_id", h.AgentID != ""}, {"corp_secret", h.CorpSecret != ""}} {
		if o.set {
			wecom = append(wecom, o.name)
		}
	}
	if len(oa) > 0 {
		return fmt.Errorf("wechat_jssdk: %s cannot be used with %s: app_id, app_secret, token_source, token_url and "+
			"token_header configure an Official Account (公众号), corp_id, agent_id and corp_secret a WeCom (企业微信) app "+
			"(whose token always comes from gettoken); use one kind", strings.Join(oa, ", "), strings.Join(wecom, ", "))
	}
	return nil
}

// validateWeCom checks the WeCom options of a configuration in WeCom mode.
// The values of corp_id and agent_id are not repeated: a secret pasted into
// the wrong option must not end up in a log.
func (h *Handler) validateWeCom() error {
	if err := config.CheckWeComApp("wechat_jssdk", h.CorpID, h.AgentID, h.CorpSecret); err != nil {
		return err
	}
	if err := config.CheckHTTPURL(h.APIBase, false); err != nil {
		return fmt.Errorf("wechat_jssdk: api_base: %w", err)
	}
	for _, b := range []struct {
		opt string
		n   int
	}{{"corp_ticket_budget", h.CorpTicketBudget}, {"agent_ticket_budget", h.AgentTicketBudget}} {
		if b.n < 0 || b.n > maxTicketBudget {
			return fmt.Errorf("wechat_jssdk: %s: %d is not between 1 and %d calls an hour (WeCom's own limit per app is about 100)",
				b.opt, b.n, maxTicketBudget)
		}
	}
	return nil
}

// weComBlockOptions is what of a WeCom configuration goes into the block
// besides blockOptions.
func (h *Handler) weComBlockOptions() weComBlockOptions {
	return weComBlockOptions{
		blockOptions:   h.blockOptions(),
		corpID:         h.CorpID,
		agentID:        h.AgentID,
		agentJSAPIList: h.AgentJSAPIList,
	}
}

// provisionWeCom is Provision's WeCom half, after the defaults and
// Validate: the secret, the block, the storage and the app's pooled stores.
func (h *Handler) provisionWeCom(ctx caddy.Context) error {
	config.WarnPlainHTTP(h.logger, "wechat_jssdk", "api_base", h.APIBase)
	secret, err := config.ResolveSecret("wechat_jssdk", "corp_secret", h.CorpSecret)
	if err != nil {
		return err
	}
	if !config.IsPlaceholder(h.CorpSecret) {
		h.logger.Warn("corp_secret is written literally in the config, where the admin API shows it; use {env.NAME} or {file.PATH}")
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
	entry, key, detach, err := acquireWeCom(weComParams{
		corpID:      h.CorpID,
		agentID:     h.AgentID,
		secret:      secret,
		apiBase:     h.APIBase,
		corpBudget:  h.CorpTicketBudget,
		agentBudget: h.AgentTicketBudget,
		timeout:     time.Duration(h.Timeout),
		logger:      h.logger,
		storage:     storage,
	})
	if err != nil {
		return err
	}
	h.pages.store, h.pages.agent = entry.wecom.Corp, entry.wecom.Agent
	h.poolKey, h.detach = key, detach
	return nil
}
