package paykeys

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
)

// Fields points at a handler's key options. wechat_pay_api and
// wechat_pay_notify take the same options with the same Caddyfile syntax
// and the same checks, but each keeps its own fields, in its own order,
// so that its JSON config (and the golden adapt output) stays as it is:
// the shared code reaches them through these pointers.
type Fields struct {
	MchID      *string
	SerialNo   *string
	PrivateKey *string
	PublicKey  **PublicKey
	APIv3Key   *string
	APIBase    *string
	MaxBody    *int64
	// MaxMaxBody is the handler's limit for max_body, a whole number of MiB.
	MaxMaxBody int64
}

// stringField returns the field a one-string option sets, nil for the
// others.
func (f Fields) stringField(opt string) *string {
	switch opt {
	case "mch_id":
		return f.MchID
	case "serial_no":
		return f.SerialNo
	case "private_key":
		return f.PrivateKey
	case "apiv3_key":
		return f.APIv3Key
	case "api_base":
		return f.APIBase
	}
	return nil
}

// UnmarshalCaddyfile reads a wechat_pay_api or wechat_pay_notify block,
// from the directive's name on, into f. Every error names the directive
// and the option; none repeats what was given to apiv3_key. The caller
// then validates a defaulted copy, so that `caddy adapt` reports what a
// config load would.
func UnmarshalCaddyfile(d *caddyfile.Dispenser, directive string, f Fields) error {
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
		field := f.stringField(opt)
		switch {
		case field != nil:
			v, err := config.SingleArg(d, directive, opt)
			if err != nil {
				return err
			}
			*field = v
		case opt == "wechatpay_public_key":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.Errf("%s: wechatpay_public_key: takes the path to pub_key.pem and its PUB_KEY_ID_…", directive)
			}
			*f.PublicKey = &PublicKey{Path: args[0], ID: args[1]}
		case opt == "max_body":
			v, err := config.SingleArg(d, directive, opt)
			if err != nil {
				return err
			}
			size, err := humanize.ParseBytes(v)
			if err != nil || size == 0 || size > uint64(f.MaxMaxBody) {
				return d.Errf("%s: max_body: %q is not a size from 1B to %dMiB (like 512KiB or 1MB)", directive, v, f.MaxMaxBody>>20)
			}
			*f.MaxBody = int64(size)
		default:
			return d.Err(unknownOption(directive, opt))
		}
	}
	return nil
}

// unknownOption is the error for an option the directive does not have.
// The token is repeated only when it looks like an option name: a key
// written on a line of its own would otherwise end up in the error.
func unknownOption(directive, opt string) string {
	if len(opt) <= 24 && strings.Trim(opt, "abcdefghijklmnopqrstuvwxyz_") == "" {
		return directive + ": unknown option \"" + opt + "\""
	}
	return directive + ": unknown option (not repeated here: it may be a misplaced value)"
}

// CheckCommon checks, in this order, what both handlers check the same way
// once their own rules about which mode is configured have passed:
// wechatpay_public_key, apiv3_key, api_base and max_body. A handler that
// checked apiv3_key earlier loses nothing: the check is repeated, and
// passes again.
func CheckCommon(directive string, f Fields) error {
	if err := CheckPublicKey(directive, *f.PublicKey); err != nil {
		return err
	}
	if err := CheckAPIv3Key(directive, *f.APIv3Key); err != nil {
		return err
	}
	if err := CheckAPIBase(directive, *f.APIBase); err != nil {
		return err
	}
	if mb := *f.MaxBody; mb < 1 || mb > f.MaxMaxBody {
		return fmt.Errorf("%s: max_body: %d is not from 1 to %d bytes", directive, mb, f.MaxMaxBody)
	}
	return nil
}

// provisionTimeout bounds reading the certificates from storage at
// provision.
const provisionTimeout = 15 * time.Second

// UsePublicKey loads pk (wechatpay_public_key, public-key mode) into o;
// nil leaves the mode off. Handlers call it before loading their other
// keys, so that an operator with several broken keys is told about them in
// the same order by both.
func (o *Options) UsePublicKey(pk *PublicKey) error {
	if pk == nil {
		return nil
	}
	key, err := LoadPublicKey(o.Directive, pk)
	if err != nil {
		return err
	}
	o.PublicKeyID, o.PublicKey = pk.ID, key
	return nil
}

// Provision acquires the keys o describes as a handler's Provision does:
// it warns when certificates would be downloaded from an api_base that is
// not https, and reads stored certificates for at most provisionTimeout.
// The handler has filled in o's certificate fields from the keys it loaded
// itself: which of them it needs anyway differs (the signer for
// wechat_pay_api, the APIv3 key for wechat_pay_notify).
func Provision(ctx context.Context, o Options) (*Keys, error) {
	if o.certMode() {
		WarnAPIBase(o.Logger, o.APIBase)
	}
	pctx, cancel := context.WithTimeout(ctx, provisionTimeout)
	defer cancel()
	return Acquire(pctx, o)
}
