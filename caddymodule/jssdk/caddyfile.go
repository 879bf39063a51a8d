package jssdk

import (
	"reflect"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/ownpath"
)

// ParseDirective turns the wechat_jssdk directive into its route. It is
// RegisterHandlerDirective's work plus one thing: when config_endpoint is
// set, the route also matches that path, so the endpoint answers even when
// the operator's matcher (wechat_jssdk /pay/* …) does not cover it.
//
// It also warns when config_endpoint is on, without public_origin, in a
// site whose address names no host (http://:8080, :80): such a site
// answers any Host, and signs for the origin the request names — on the
// port it arrived on, but with a host of the client's choosing.
func ParseDirective(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	// where the directive is, for the warning; ownpath starts over
	h.Next()
	file, line := h.File(), h.Line()
	h.Reset()
	var handler *Handler
	vals, err := ownpath.ParseDirective(h, func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		m, err := ParseCaddyfile(h)
		handler, _ = m.(*Handler)
		return m, err
	}, func(m caddyhttp.MiddlewareHandler) string {
		return m.(*Handler).ConfigEndpoint
	})
	if err != nil {
		return nil, err
	}
	if handler != nil && handler.ConfigEndpoint != "" && handler.PublicOrigin == "" {
		if hostless := hostlessAddresses(siteAddresses(h)); len(hostless) > 0 {
			adaptLogger().Warn("config_endpoint in a site whose address names no host: it signs for whatever host "+
				"a request names (on the port it arrived on); set public_origin, or give the site its host names",
				zap.Strings("site_addresses", hostless),
				zap.String("config_endpoint", handler.ConfigEndpoint),
				zap.String("file", file), zap.Int("line", line))
		}
	}
	return vals, nil
}

// adaptLogger is where ParseDirective's warning goes: Caddy's default
// logger, which `caddy adapt`, `caddy run` and a Caddyfile POSTed to the
// admin API all print. A variable for the tests.
var adaptLogger = func() *zap.Logger { return caddy.Log().Named("http.handlers.wechat_jssdk") }

// siteAddresses returns the addresses of the site block the directive is
// in, or nil inside a named route (which any site may invoke) or when they
// cannot be read. httpcaddyfile.Helper keeps them in an unexported field,
// parentBlock, with no accessor, so they are read by reflection (reading an
// unexported field is allowed; nothing is written). A Caddy whose Helper no
// longer has the field yields nil, and no warning: TestHostlessSiteWarning
// pins it on the Caddy version go.mod requires.
func siteAddresses(h httpcaddyfile.Helper) []string {
	if h.IsNamedRoute() {
		return nil
	}
	block := reflect.ValueOf(h).FieldByName("parentBlock")
	if block.Kind() != reflect.Struct {
		return nil
	}
	keys := block.FieldByName("Keys")
	if keys.Kind() != reflect.Slice {
		return nil
	}
	var addrs []string
	for i := 0; i < keys.Len(); i++ {
		if k := keys.Index(i); k.Kind() == reflect.Struct {
			if text := k.FieldByName("Text"); text.Kind() == reflect.String {
				addrs = append(addrs, text.String())
			}
		}
	}
	return addrs
}

// hostlessAddresses returns those of addrs that name no host: a port alone
// (:8080), a scheme alone (http://), or the wildcard *.
func hostlessAddresses(addrs []string) []string {
	var out []string
	for _, a := range addrs {
		addr, err := httpcaddyfile.ParseAddress(a)
		if err == nil && (addr.Host == "" || addr.Host == "*") {
			out = append(out, a)
		}
	}
	return out
}

// ParseCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	wechat_jssdk [<matcher>] {
//		app_id        <appid>
//		app_secret    <secret>
//		corp_id       <corpid>      # WeCom (企业微信) mode instead of app_id/app_secret:
//		agent_id      <agentid>     #   the three together
//		corp_secret   <secret>
//		corp_ticket_budget  <calls per hour>
//		agent_ticket_budget <calls per hour>
//		agent_js_api_list   <api>...
//		api_base      <url>
//		token_source  stable|classic|url <endpoint>
//		token_header  <name> <value>
//		storage       <module> [{ <module options> }]
//		js_api_list   <api>...
//		open_tag_list <tag>...
//		debug
//		sdk_url       <url>|off
//		inject        head|body
//		public_origin <scheme://host[:port]>
//		on_error      pass|fail
//		timeout       <duration>
//		config_endpoint <path>
//	}
func ParseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var m Handler
	err := m.UnmarshalCaddyfile(h.Dispenser)
	return &m, err
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler. Every error names the
// directive and the option; values are checked again by Validate.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if d.NextArg() {
		// The value is not repeated: a misplaced secret would end up in the
		// error, and errors are logged.
		return d.Err("wechat_jssdk: takes no arguments besides a matcher; options go in a block")
	}
	for d.NextBlock(0) {
		opt := d.Val()
		switch opt {
		case "token_source", "token_header", "storage":
			if err := h.unmarshalSharing(d, opt); err != nil {
				return err
			}
		case "app_id", "app_secret", "corp_id", "agent_id", "corp_secret", "api_base", "sdk_url",
			"inject", "public_origin", "on_error", "config_endpoint":
			v, err := singleArg(d, opt)
			if err != nil {
				return err
			}
			*h.stringField(opt) = v
		case "js_api_list", "open_tag_list", "agent_js_api_list":
			list := d.RemainingArgs()
			if list == nil {
				list = []string{} // written but empty: an explicit empty list
			}
			switch opt {
			case "js_api_list":
				h.JSAPIList = list
			case "open_tag_list":
				h.OpenTagList = list
			default:
				h.AgentJSAPIList = list
			}
		case "corp_ticket_budget", "agent_ticket_budget":
			v, err := singleArg(d, opt)
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxTicketBudget {
				return d.Errf("wechat_jssdk: %s: want a number of calls per hour from 1 to %d, got %q", opt, maxTicketBudget, v)
			}
			if opt == "corp_ticket_budget" {
				h.CorpTicketBudget = n
			} else {
				h.AgentTicketBudget = n
			}
		case "debug":
			if d.NextArg() {
				return d.Errf("wechat_jssdk: debug: takes no argument, got %q", d.Val())
			}
			h.Debug = true
		case "timeout":
			v, err := singleArg(d, opt)
			if err != nil {
				return err
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("wechat_jssdk: timeout: invalid duration %q", v)
			}
			if dur <= 0 {
				return d.Errf("wechat_jssdk: timeout: must be positive, got %q", v)
			}
			h.Timeout = caddy.Duration(dur)
		default:
			return d.Errf("wechat_jssdk: unknown option %q", opt)
		}
	}
	// So that caddy adapt, not only caddy run, reports a bad value: the
	// check Provision makes, on a defaulted copy, so that the adapted JSON
	// keeps only what was written.
	c := *h
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		return d.Err(err.Error())
	}
	return nil
}

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
	case "api_base":
		return &h.APIBase
	case "sdk_url":
		return &h.SDKURL
	case "inject":
		return &h.Inject
	case "public_origin":
		return &h.PublicOrigin
	case "config_endpoint":
		return &h.ConfigEndpoint
	default: // "on_error"; the caller switches on the same names
		return &h.OnError
	}
}

// singleArg reads exactly one argument for opt.
func singleArg(d *caddyfile.Dispenser, opt string) (string, error) {
	if !d.NextArg() {
		return "", d.Errf("wechat_jssdk: %s: missing value", opt)
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.Errf("wechat_jssdk: %s: takes one value, got more (not repeated here: it may be a secret)", opt)
	}
	return v, nil
}

// unmarshalSharing parses the options about where the credential comes
// from and where it is shared: token_source, token_header and storage.
func (h *Handler) unmarshalSharing(d *caddyfile.Dispenser, opt string) error {
	switch opt {
	case "token_source":
		args := d.RemainingArgs()
		switch {
		case len(args) == 1 && args[0] != tokenSourceURL:
			h.TokenSource = args[0]
		case len(args) == 2 && args[0] == tokenSourceURL:
			h.TokenSource, h.TokenURL = args[0], args[1]
		case len(args) == 1:
			return d.Err("wechat_jssdk: token_source: url needs the token service's endpoint (token_source url <endpoint>)")
		case len(args) == 0:
			return d.Err("wechat_jssdk: token_source: missing value")
		default:
			return d.Errf("wechat_jssdk: token_source: takes one value (stable or classic) or two (url <endpoint>), got %d", len(args))
		}
	case "token_header":
		args := d.RemainingArgs()
		if len(args) != 2 {
			// the values are not quoted: one of them is a credential
			return d.Errf("wechat_jssdk: token_header: want a header name and a value, got %d values", len(args))
		}
		h.TokenHeader = &TokenHeader{Name: args[0], Value: args[1]}
	case "storage":
		if !d.NextArg() {
			return d.Err("wechat_jssdk: storage: missing storage module name (file_system, redis, …)")
		}
		modID := "caddy.storage." + d.Val()
		unm, err := caddyfile.UnmarshalModule(d, modID)
		if err != nil {
			return d.Errf("wechat_jssdk: storage: %v", err)
		}
		storage, ok := unm.(caddy.StorageConverter)
		if !ok {
			return d.Errf("wechat_jssdk: storage: module %s is not a storage module", modID)
		}
		h.StorageRaw = caddyconfig.JSONModuleObject(storage, "module", storage.(caddy.Module).CaddyModule().ID.Name(), nil)
	}
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
