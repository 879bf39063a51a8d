package jssdk

import (
	"errors"
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// TokenHeader is a header sent to the central token service, typically to
// authenticate.
type TokenHeader struct {
	// The header's name, like Authorization or X-Api-Key.
	Name string `json:"name,omitempty"`
	// The header's value. `{env.NAME}` and `{file.PATH}` placeholders are
	// resolved when the config is provisioned; prefer them to a literal
	// value, which Caddy's admin API shows to anyone who can read /config.
	// It is never logged.
	Value string `json:"value,omitempty"`
}

// validateTokenSource checks token_source with token_url and token_header.
func (h *Handler) validateTokenSource() error {
	switch h.TokenSource {
	case "", tokenSourceStable, tokenSourceClassic:
		if h.TokenURL != "" {
			return errors.New("wechat_jssdk: token_url: only used with token_source url")
		}
		if h.TokenHeader != nil {
			return errors.New("wechat_jssdk: token_header: only used with token_source url")
		}
	case tokenSourceURL:
		if h.TokenURL == "" {
			return errors.New("wechat_jssdk: token_source: url needs the token service's endpoint (token_source url <endpoint>)")
		}
		if checkHTTPURL(h.TokenURL, true) != nil {
			// not quoted: its query may carry a key
			return errors.New("wechat_jssdk: token_source: url: the endpoint must be an http(s) URL with a host, without user info or fragment")
		}
		if hd := h.TokenHeader; hd != nil && (!validHeaderName(hd.Name) || hd.Value == "") {
			return fmt.Errorf("wechat_jssdk: token_header: want a header name and a value, got name %q", hd.Name)
		}
	default:
		return fmt.Errorf("wechat_jssdk: token_source: %q is not stable, classic or url", h.TokenSource)
	}
	return nil
}

// validHeaderName accepts an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// resolveTokenHeader expands the header value's placeholders. Its errors
// name the option, never the value.
func (h *Handler) resolveTokenHeader() (name, value string, err error) {
	if h.TokenHeader == nil {
		return "", "", nil
	}
	v, err := caddy.NewReplacer().ReplaceOrErr(h.TokenHeader.Value, true, true)
	if err != nil {
		return "", "", fmt.Errorf("wechat_jssdk: token_header: %v", err)
	}
	v = strings.TrimSpace(v)
	if v == "" || strings.ContainsAny(v, "\r\n") {
		return "", "", errors.New("wechat_jssdk: token_header: the value resolves to an empty or multi-line string")
	}
	return h.TokenHeader.Name, v, nil
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
