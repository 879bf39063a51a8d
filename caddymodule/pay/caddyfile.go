package pay

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
)

// ParseCaddyfile sets up the wechat_pay handler from Caddyfile tokens. The
// plugin's root package registers it with
// httpcaddyfile.RegisterHandlerDirective.
func ParseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var p Handler
	if err := p.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return &p, nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	wechat_pay [<matcher>] {
//		app_id       <appid>
//		private_key  <path>
//		api_key      <key>
//		sign_type    RSA|MD5|HMAC-SHA256
//		prepay_field <name>
//		output_field <name>
//		max_body     <size>
//	}
//
// Every error names the directive and the option. The block is checked
// with Validate, on a copy with the defaults applied, so that `caddy adapt`
// already reports a missing or conflicting option while the adapted JSON
// keeps only what was written. Errors never repeat what was given to
// api_key.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		// not echoed: a misplaced key would end up in the error
		return d.Err("wechat_pay: takes no arguments besides a matcher; put options in a block")
	}
	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		field := h.stringField(opt)
		if field == nil && opt != "max_body" {
			return d.Errf("wechat_pay: unknown option %q", opt)
		}
		if seen[opt] {
			return d.Errf("wechat_pay: %s: given more than once", opt)
		}
		seen[opt] = true
		val, err := config.SingleArg(d, "wechat_pay", opt)
		if err != nil {
			return err
		}
		if field != nil {
			*field = val
			continue
		}
		size, err := humanize.ParseBytes(val)
		if err != nil || size == 0 || size > MaxMaxBody {
			return d.Errf("wechat_pay: max_body: %q is not a size from 1B to 64MiB (like 512KiB or 1MB)", val)
		}
		h.MaxBody = int64(size)
	}
	c := *h
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// stringField returns the field a string option sets, nil for the others.
func (h *Handler) stringField(opt string) *string {
	switch opt {
	case "app_id":
		return &h.AppID
	case "private_key":
		return &h.PrivateKey
	case "api_key":
		return &h.APIKey
	case "sign_type":
		return &h.SignType
	case "prepay_field":
		return &h.PrepayField
	case "output_field":
		return &h.OutputField
	}
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
