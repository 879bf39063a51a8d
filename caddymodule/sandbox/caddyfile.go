package sandbox

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// ParseCaddyfile sets up the wechat_sandbox handler from Caddyfile tokens.
// The plugin's root package registers it with
// httpcaddyfile.RegisterHandlerDirective.
func ParseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var s Handler
	if err := s.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return &s, nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	wechat_sandbox [<matcher>] {
//		app_id     <appid>
//		app_secret <secret>
//		token_ttl  <duration>
//		latency    <duration>
//		merchant_public_key <path>
//		api_key    <key>
//		allow_origin <origin>...
//		corp_id    <corp_id>              # a WeCom corp (wecom.go)
//		agent      <agent_id> <secret>    # one per app of the corp
//	}
//
// Error messages never repeat the value given to app_secret.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		// Not echoed: a misplaced secret would end up in the error.
		return d.Err("wechat_sandbox: takes no arguments besides a matcher; put options in a block")
	}
	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if isWeComOption(opt) { // corp_id, agent (wecom.go)
			if err := h.unmarshalWeComOption(d, seen); err != nil {
				return err
			}
			continue
		}
		switch opt {
		case "app_id", "app_secret", "token_ttl", "latency", "merchant_public_key", "api_key", "allow_origin":
		default:
			return d.Errf("wechat_sandbox: unrecognized subdirective %q", opt)
		}
		if seen[opt] {
			return d.Errf("wechat_sandbox: %s: specified more than once", opt)
		}
		seen[opt] = true
		if !d.NextArg() {
			return d.Errf("wechat_sandbox: %s: missing value", opt)
		}
		if opt == "allow_origin" { // one or more origins
			for ok := true; ok; ok = d.NextArg() {
				if err := checkOrigin(d.Val()); err != nil {
					return d.Errf("wechat_sandbox: allow_origin: %v", err)
				}
				h.AllowOrigins = append(h.AllowOrigins, d.Val())
			}
			continue
		}
		val := d.Val()
		if d.NextArg() {
			return d.Errf("wechat_sandbox: %s: takes exactly one value", opt)
		}
		switch opt {
		case "app_id":
			h.AppID = val
		case "app_secret":
			h.AppSecret = val
		case "merchant_public_key":
			h.MerchantPublicKey = val
		case "api_key":
			h.APIKey = val
		case "token_ttl":
			dur, err := caddy.ParseDuration(val)
			if err != nil {
				return d.Errf("wechat_sandbox: token_ttl: invalid duration %q", val)
			}
			if dur < minTokenTTL {
				return d.Errf("wechat_sandbox: token_ttl: must be at least %s, got %s", minTokenTTL, dur)
			}
			h.TokenTTL = caddy.Duration(dur)
		case "latency":
			dur, err := caddy.ParseDuration(val)
			if err != nil {
				return d.Errf("wechat_sandbox: latency: invalid duration %q", val)
			}
			if dur < 0 {
				return d.Errf("wechat_sandbox: latency: must not be negative, got %s", dur)
			}
			h.Latency = caddy.Duration(dur)
		}
	}
	// Reported here as well as in Validate so that `caddy adapt` already
	// names the missing option.
	for _, opt := range []string{"app_id", "app_secret"} {
		if !seen[opt] {
			return d.Errf("wechat_sandbox: %s is required", opt)
		}
	}
	return checkWeComCaddyfile(d, seen)
}
