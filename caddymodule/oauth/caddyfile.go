package oauth

import (
	"time"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/ownpath"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// ParseDirective turns the wechat_oauth directive into its route: a route
// without a matcher, whose handler holds the directive's matcher in its
// "match" field. The handler must see every request of the site, matched
// or not: it removes client-sent identity headers from all of them, and
// answers callback_path wherever the matcher reaches; it signs in only the
// requests its matcher matches.
func ParseDirective(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	return ownpath.ParseEveryRequest(h, ParseCaddyfile, func(m caddyhttp.MiddlewareHandler, sets caddyhttp.RawMatcherSets) {
		m.(*Handler).MatcherSetsRaw = sets
	})
}

// ParseCaddyfile sets up the handler from Caddyfile tokens.
func ParseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var m Handler
	if err := m.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return &m, nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	wechat_oauth [<matcher>] {
//		app_id         <appid>
//		app_secret     <secret>
//		# or, for a WeCom (企业微信) app, instead of app_id and app_secret:
//		corp_id        <corp id>
//		agent_id       <agent id>
//		corp_secret    <the app's secret>
//		scope          snsapi_base|snsapi_userinfo|snsapi_privateinfo
//		api_base       <url>
//		authorize_url  <url>
//		callback_path  <path>
//		header         <openid header> [<unionid header>]
//		cookie_name    <name>
//		max_age        <duration>
//		outside_wechat pass|deny
//	}
//
// Every error names the directive and the option. The block is checked
// with Validate, on a copy with the defaults applied, so that `caddy adapt`
// already reports a bad value while the adapted JSON keeps only what was
// written. Errors never repeat what was given to app_secret or
// corp_secret. header is not used in WeCom mode.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		// not echoed: a misplaced secret would end up in the error
		return d.Err("wechat_oauth: takes no arguments besides a matcher; put options in a block")
	}
	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		field := h.stringField(opt)
		if field == nil && opt != "header" && opt != "max_age" {
			return d.Errf("wechat_oauth: unknown option %q", opt)
		}
		if seen[opt] {
			return d.Errf("wechat_oauth: %s: given more than once", opt)
		}
		seen[opt] = true
		args := d.RemainingArgs()
		switch {
		case len(args) == 0:
			return d.Errf("wechat_oauth: %s: missing value", opt)
		case opt == "header" && len(args) > 2:
			return d.Err("wechat_oauth: header: takes the openid header and, optionally, the unionid header")
		case opt != "header" && len(args) > 1:
			return d.Errf("wechat_oauth: %s: takes exactly one value", opt)
		}
		switch opt {
		case "header":
			h.Header = args[0]
			if len(args) == 2 {
				h.UnionIDHeader = args[1]
			}
		case "max_age":
			dur, err := caddy.ParseDuration(args[0])
			if err != nil || dur < time.Second {
				return d.Errf("wechat_oauth: max_age: %q is not a duration of at least 1s (like 12h or 7d)", args[0])
			}
			h.MaxAge = caddy.Duration(dur)
		default:
			*field = args[0]
		}
	}
	c := *h
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// stringField returns the field a single-string option sets, nil for the
// others.
func (h *Handler) stringField(opt string) *string {
	switch opt {
	case "app_id":
		return &h.AppID
	case "app_secret":
		return &h.AppSecret
	case "corp_id":
		return &h.CorpID
	case "agent_id":
		return &h.AgentID
	case "corp_secret":
		return &h.CorpSecret
	case "scope":
		return &h.Scope
	case "api_base":
		return &h.APIBase
	case "authorize_url":
		return &h.AuthorizeURL
	case "callback_path":
		return &h.CallbackPath
	case "cookie_name":
		return &h.CookieName
	case "outside_wechat":
		return &h.OutsideWeChat
	}
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
