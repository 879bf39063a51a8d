package jssdk

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-wechat/jssdk/caddymodule/inject"
	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// DefaultSDKURL is where the boot script loads jweixin from when the page
// did not load it itself.
const DefaultSDKURL = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"

// DefaultTimeout bounds how long a page waits for WeChat on a cold cache.
const DefaultTimeout = 5 * time.Second

// DefaultJSAPIList is the jsApiList used when js_api_list is not set: the
// sharing, media, location, scanning and payment APIs most pages use.
// Listing an API the account may not use does not fail wx.config.
var DefaultJSAPIList = []string{
	"updateAppMessageShareData",
	"updateTimelineShareData",
	"onMenuShareAppMessage",
	"onMenuShareTimeline",
	"chooseImage",
	"previewImage",
	"getLocation",
	"openLocation",
	"scanQRCode",
	"chooseWXPay",
	"hideMenuItems",
	"showMenuItems",
	"closeWindow",
}

const (
	tokenSourceStable  = "stable"
	tokenSourceClassic = "classic"
	tokenSourceURL     = "url"
	injectHead         = "head"
	injectBody         = "body"
	onErrorPass        = "pass"
	onErrorFail        = "fail"
	sdkOff             = "off"
)

func (h *Handler) applyDefaults() error {
	if h.APIBase == "" {
		h.APIBase = wechat.DefaultBaseURL
	}
	if h.TokenSource == "" {
		h.TokenSource = tokenSourceStable
	}
	if h.JSAPIList == nil {
		h.JSAPIList = DefaultJSAPIList
	}
	if h.SDKURL == "" {
		h.SDKURL = DefaultSDKURL
	}
	if h.Inject == "" {
		h.Inject = injectHead
	}
	if h.OnError == "" {
		h.OnError = onErrorPass
	}
	if h.Timeout == 0 {
		h.Timeout = caddy.Duration(DefaultTimeout)
	}
	h.mode = inject.Head
	if h.Inject == injectBody {
		h.mode = inject.Body
	}
	h.failClosed = h.OnError == onErrorFail
	return nil
}

// Validate reports the first configuration problem, naming the option.
func (h *Handler) Validate() error {
	if h.AppID == "" {
		return errors.New("wechat_jssdk: app_id is required")
	}
	if !wechat.ValidAppID(h.AppID) {
		return fmt.Errorf("wechat_jssdk: app_id %q is not a WeChat AppID (wx followed by letters and digits)", h.AppID)
	}
	if h.AppSecret == "" && h.TokenSource != tokenSourceURL {
		return errors.New("wechat_jssdk: app_secret is required")
	}
	if h.APIBase != "" {
		if err := checkHTTPURL(h.APIBase, false); err != nil {
			return fmt.Errorf("wechat_jssdk: api_base: %w", err)
		}
	}
	if err := h.validateTokenSource(); err != nil {
		return err
	}
	// A path on this site is fine; "//host/…" is another site without a
	// scheme, checked as a URL (and refused).
	if h.SDKURL != "" && h.SDKURL != sdkOff && !(strings.HasPrefix(h.SDKURL, "/") && !strings.HasPrefix(h.SDKURL, "//")) {
		if err := checkHTTPURL(h.SDKURL, true); err != nil {
			return fmt.Errorf("wechat_jssdk: sdk_url: %w (want an http(s) URL, a path, or off)", err)
		}
	}
	switch h.Inject {
	case "", injectHead, injectBody:
	default:
		return fmt.Errorf("wechat_jssdk: inject: %q is not head or body", h.Inject)
	}
	switch h.OnError {
	case "", onErrorPass, onErrorFail:
	default:
		return fmt.Errorf("wechat_jssdk: on_error: %q is not pass or fail", h.OnError)
	}
	if h.PublicOrigin != "" {
		o, err := normalizeOrigin(h.PublicOrigin)
		if err != nil {
			return fmt.Errorf("wechat_jssdk: public_origin: %w", err)
		}
		h.origin = o
	}
	if h.ConfigEndpoint != "" && (!strings.HasPrefix(h.ConfigEndpoint, "/") ||
		strings.ContainsAny(h.ConfigEndpoint, "?#*{} \t") || !validPathChars(h.ConfigEndpoint)) {
		return fmt.Errorf("wechat_jssdk: config_endpoint: %q is not a plain absolute path", h.ConfigEndpoint)
	}
	if h.Timeout < 0 {
		return fmt.Errorf("wechat_jssdk: timeout: %s is negative", time.Duration(h.Timeout))
	}
	for _, list := range []struct {
		opt   string
		names []string
	}{{"js_api_list", h.JSAPIList}, {"open_tag_list", h.OpenTagList}} {
		for _, name := range list.names {
			if !validListName(name) {
				return fmt.Errorf("wechat_jssdk: %s: %q is not a JS-SDK API or open tag name", list.opt, name)
			}
		}
	}
	return nil
}

func validListName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// validPathChars accepts the URL path characters a route can name without
// escaping, so the path reaches the boot script and matchers unchanged.
func validPathChars(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' || c == '%' {
			return false
		}
	}
	return true
}

func checkHTTPURL(raw string, allowPath bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", raw)
	}
	if u.User != nil {
		// the URL is not repeated: its user info may hold a password
		return fmt.Errorf("a URL must not carry user info (%s://…@%s)", u.Scheme, u.Host)
	}
	if u.Fragment != "" || u.RawQuery != "" && !allowPath {
		return fmt.Errorf("%q must not carry a query or a fragment", raw)
	}
	if !allowPath && u.Path != "" && u.Path != "/" {
		return fmt.Errorf("%q must be an origin without a path", raw)
	}
	return nil
}

// normalizeOrigin turns scheme://host[:port] into the form location.href
// shows: lower-case scheme and host, no default port, no trailing slash.
func normalizeOrigin(raw string) (string, error) {
	if err := checkHTTPURL(raw, false); err != nil {
		return "", err
	}
	u, _ := url.Parse(raw)
	host := strings.ToLower(u.Host)
	scheme := strings.ToLower(u.Scheme)
	host = stripDefaultPort(scheme, host)
	return scheme + "://" + host, nil
}

func isPlaceholder(s string) bool {
	return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}")
}

// resolveSecret expands {env.*} / {file.*} placeholders. Its errors name the
// placeholder, never a value.
func resolveSecret(raw string) (string, error) {
	repl := caddy.NewReplacer()
	s, err := repl.ReplaceOrErr(raw, true, true)
	if err != nil {
		return "", fmt.Errorf("wechat_jssdk: app_secret: %v", err)
	}
	s = strings.TrimSpace(s) // {file.*} keeps a trailing newline editors add
	if s == "" {
		return "", errors.New("wechat_jssdk: app_secret: resolves to an empty value")
	}
	return s, nil
}
