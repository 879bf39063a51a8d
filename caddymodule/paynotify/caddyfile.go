package paynotify

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/ownpath"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/paykeys"
)

// ParseDirective turns the wechat_pay_notify directive into its route: a
// route without a matcher, whose handler holds the directive's matcher in
// its "match" field (ownpath.ParseEveryRequest, as wechat_oauth does). The
// handler must see every request of its site: it removes client-sent
// X-WeChat-Pay-* headers from all of them, and treats as notifications
// only those its matcher matches. With the matcher on the route, a
// client's X-WeChat-Pay-Event on any other path would reach the backend.
// The plugin's root package registers it with httpcaddyfile.RegisterDirective.
func ParseDirective(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	return ownpath.ParseEveryRequest(h, ParseCaddyfile, func(m caddyhttp.MiddlewareHandler, sets caddyhttp.RawMatcherSets) {
		m.(*Handler).MatcherSetsRaw = sets
	})
}

// ParseCaddyfile sets up the wechat_pay_notify handler from Caddyfile tokens.
func ParseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var p Handler
	if err := p.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return &p, nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	wechat_pay_notify [<matcher>] {
//		apiv3_key            <key>
//		wechatpay_public_key <path to pub_key.pem> <PUB_KEY_ID_…>
//		mch_id               <mchid>
//		serial_no            <merchant certificate serial>
//		private_key          <path to apiclient_key.pem>
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
