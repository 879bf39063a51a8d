package sandbox

import (
	"strings"

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
//		mch_id                <mchid>
//		merchant_serial       <serial>
//		wechatpay_private_key <path> <PUB_KEY_ID_…>
//		wechatpay_certificate <certificate path> <private key path>
//		apiv3_key             <key>
//		demo_backend          <wechat_pay_api URL> <notify_url>
//	}
//
// The block is checked with Validate, so that `caddy adapt` already names
// a missing or malformed option. Error messages never repeat the value
// given to app_secret, api_key or apiv3_key.
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
		want, known := caddyfileOptions[opt]
		if !known {
			if len(opt) > 32 || strings.Trim(opt, "abcdefghijklmnopqrstuvwxyz_") != "" {
				// not echoed: it may be a secret written on a line of its own
				return d.Err("wechat_sandbox: unrecognized subdirective (not repeated here: it may be a misplaced value)")
			}
			return d.Errf("wechat_sandbox: unrecognized subdirective %q", opt)
		}
		if seen[opt] {
			return d.Errf("wechat_sandbox: %s: specified more than once", opt)
		}
		seen[opt] = true
		args := d.RemainingArgs()
		switch {
		case len(args) == 0:
			return d.Errf("wechat_sandbox: %s: missing value", opt)
		case want == 1 && len(args) > 1:
			return d.Errf("wechat_sandbox: %s: takes exactly one value", opt)
		case want == 2 && len(args) != 2:
			return d.Errf("wechat_sandbox: %s: takes two values: %s", opt, twoValueUsage[opt])
		}
		val := args[0]
		switch opt {
		case "allow_origin": // one or more origins
			for _, o := range args {
				if err := checkOrigin(o); err != nil {
					return d.Errf("wechat_sandbox: allow_origin: %v", err)
				}
			}
			h.AllowOrigins = append(h.AllowOrigins, args...)
		case "app_id":
			h.AppID = val
		case "app_secret":
			h.AppSecret = val
		case "merchant_public_key":
			h.MerchantPublicKey = val
		case "api_key":
			h.APIKey = val
		case "mch_id":
			h.MchID = val
		case "merchant_serial":
			h.MerchantSerial = val
		case "apiv3_key":
			h.APIv3Key = val
		case "wechatpay_private_key":
			h.WechatpayPrivateKey = &WechatpayKey{Path: args[0], ID: args[1]}
		case "wechatpay_certificate":
			h.WechatpayCertificate = &WechatpayCertificate{Certificate: args[0], Key: args[1]}
		case "demo_backend":
			h.DemoBackend = &DemoBackend{PayAPI: args[0], NotifyURL: args[1]}
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
	// Validate is pure: `caddy adapt` already names a missing option or
	// one that does not go with the others.
	// The WeCom options first: their Caddyfile wording names the lines.
	if err := checkWeComCaddyfile(d, seen); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// caddyfileOptions maps each option to the number of values it takes
// (-1: one or more).
var caddyfileOptions = map[string]int{
	"app_id": 1, "app_secret": 1, "token_ttl": 1, "latency": 1,
	"merchant_public_key": 1, "api_key": 1, "allow_origin": -1,
	"mch_id": 1, "merchant_serial": 1, "apiv3_key": 1,
	"wechatpay_private_key": 2, "wechatpay_certificate": 2, "demo_backend": 2,
}

// twoValueUsage says what the two-value options take.
var twoValueUsage = map[string]string{
	"wechatpay_private_key": "the path to WeChat Pay's private key and its PUB_KEY_ID_…",
	"wechatpay_certificate": "the path to the platform certificate and the path to its private key",
	"demo_backend":          "the URL of the site's wechat_pay_api route and the notify_url for orders",
}
