package paynotify

import (
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

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
	d.Next() // consume directive name
	if d.NextArg() {
		// not echoed: a misplaced key would end up in the error
		return d.Err(directive + ": takes no arguments besides a matcher; put options in a block")
	}
	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if seen[opt] {
			return d.Errf("%s: %s: given more than once", directive, opt)
		}
		seen[opt] = true
		args := d.RemainingArgs()
		want := 1
		if opt == "wechatpay_public_key" {
			want = 2
		}
		field := h.stringField(opt)
		if field == nil && opt != "wechatpay_public_key" && opt != "max_body" {
			return d.Err(unknownOption(opt))
		}
		if len(args) != want {
			switch {
			case want == 2:
				return d.Errf("%s: wechatpay_public_key: takes the path to pub_key.pem and its PUB_KEY_ID_…", directive)
			case len(args) == 0:
				return d.Errf("%s: %s: missing value", directive, opt)
			default:
				return d.Errf("%s: %s: takes exactly one value", directive, opt)
			}
		}
		switch {
		case field != nil:
			*field = args[0]
		case opt == "wechatpay_public_key":
			h.WechatpayPublicKey = &paykeys.PublicKey{Path: args[0], ID: args[1]}
		default:
			size, err := humanize.ParseBytes(args[0])
			if err != nil || size == 0 || size > MaxMaxBody {
				return d.Errf("%s: max_body: %q is not a size from 1B to 16MiB (like 512KiB or 1MB)", directive, args[0])
			}
			h.MaxBody = int64(size)
		}
	}
	c := *h
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

// stringField returns the field a one-string option sets, nil for the
// others.
func (h *Handler) stringField(opt string) *string {
	switch opt {
	case "mch_id":
		return &h.MchID
	case "serial_no":
		return &h.SerialNo
	case "private_key":
		return &h.PrivateKey
	case "apiv3_key":
		return &h.APIv3Key
	case "api_base":
		return &h.APIBase
	}
	return nil
}

// unknownOption is the error for an option the directive does not have.
// The token is repeated only when it looks like an option name: a key
// written on a line of its own would otherwise end up in the error.
func unknownOption(opt string) string {
	if len(opt) <= 24 && strings.Trim(opt, "abcdefghijklmnopqrstuvwxyz_") == "" {
		return directive + ": unknown option \"" + opt + "\""
	}
	return directive + ": unknown option (not repeated here: it may be a misplaced value)"
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
