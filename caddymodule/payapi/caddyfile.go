package payapi

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys"
)

// ParseCaddyfile sets up the wechat_pay_api handler from Caddyfile tokens.
// The plugin's root package registers it with
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
//	wechat_pay_api [<matcher>] {
//		mch_id               <mchid>
//		serial_no            <merchant certificate serial>
//		private_key          <path to apiclient_key.pem>
//		wechatpay_public_key <path to pub_key.pem> <PUB_KEY_ID_…>
//		apiv3_key            <key>
//		api_base             <url>
//		max_body             <size>
//	}
//
// Every error names the directive and the option. The block is checked
// with Validate on a copy with the defaults applied, so that `caddy adapt`
// reports a missing or malformed option while the adapted JSON keeps only
// what was written. Errors never repeat what was given to apiv3_key.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if err := paykeys.UnmarshalCaddyfile(d, directive, h.keyFields()); err != nil {
		return err
	}
	c := *h
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
