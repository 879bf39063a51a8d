package config

import "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

// SingleArg reads the one value of option opt of a directive's block. Its
// errors name the directive and the option and never repeat a value: the
// value may be a secret, and errors are logged.
func SingleArg(d *caddyfile.Dispenser, directive, opt string) (string, error) {
	if !d.NextArg() {
		return "", d.Errf("%s: %s: missing value", directive, opt)
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.Errf("%s: %s: %s", directive, opt, extraValueText(directive))
	}
	return v, nil
}

// extraValueText is how a directive says an option got more than one
// value. wechat_jssdk said it its own way before the other directives were
// written, and its golden adapt files and its operators' log searches
// have that text, so it keeps it; the others share one.
func extraValueText(directive string) string {
	if directive == "wechat_jssdk" {
		return "takes one value, got more (not repeated here: it may be a secret)"
	}
	return "takes exactly one value"
}
