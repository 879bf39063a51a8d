package oauth

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// Defaults for the optional settings.
const (
	DefaultScope         = ScopeBase
	DefaultAuthorizeURL  = "https://open.weixin.qq.com/connect/oauth2/authorize"
	DefaultCallbackPath  = "/.well-known/wechat-oauth/callback"
	DefaultHeader        = "X-WeChat-OpenID"
	DefaultUnionIDHeader = "X-WeChat-UnionID"
	// DefaultCookieName is the session cookie's name over http; over https
	// it gets the __Host- prefix.
	DefaultCookieName = "wechat_oauth"
	DefaultMaxAge     = 7 * 24 * time.Hour
)

// The scopes WeChat's web OAuth knows.
const (
	// ScopeBase is silent and yields the openid (and unionid) only.
	ScopeBase = "snsapi_base"
	// ScopeUserInfo asks the user's consent; the profile itself is not
	// fetched (yet), so it only matters for the unionid rules.
	ScopeUserInfo = "snsapi_userinfo"
)

// The outside_wechat values.
const (
	OutsidePass = "pass"
	OutsideDeny = "deny"
)

// MaxMaxAge is the longest max_age accepted: browsers cap a cookie's
// lifetime at 400 days.
const MaxMaxAge = 400 * 24 * time.Hour

// maxCookieName bounds cookie_name: with "_state" and a sealed value the
// cookie must stay far below the 4 KiB browsers keep.
const maxCookieName = 64

// applyDefaults fills in every unset option.
func (h *Handler) applyDefaults() {
	if h.Scope == "" {
		h.Scope = DefaultScope
	}
	if h.APIBase == "" {
		h.APIBase = wechat.DefaultBaseURL
	}
	if h.AuthorizeURL == "" {
		h.AuthorizeURL = DefaultAuthorizeURL
	}
	if h.CallbackPath == "" {
		h.CallbackPath = DefaultCallbackPath
	}
	if h.Header == "" {
		h.Header = DefaultHeader
	}
	if h.UnionIDHeader == "" {
		h.UnionIDHeader = DefaultUnionIDHeader
	}
	if h.MaxAge == 0 {
		h.MaxAge = caddy.Duration(DefaultMaxAge)
	}
	if h.OutsideWeChat == "" {
		h.OutsideWeChat = OutsidePass
	}
}

// Validate reports the first configuration problem, naming the directive
// and the option. It checks the settings as written (empty means default),
// so the Caddyfile adapter runs it too. Its errors never quote app_secret.
func (h *Handler) Validate() error {
	if h.AppID == "" {
		return errors.New("wechat_oauth: app_id is required")
	}
	if !validAppID(h.AppID) {
		return fmt.Errorf("wechat_oauth: app_id %q is not a WeChat AppID (wx followed by letters and digits)", h.AppID)
	}
	if h.AppSecret == "" {
		return errors.New("wechat_oauth: app_secret is required")
	}
	switch h.Scope {
	case "", ScopeBase, ScopeUserInfo:
	default:
		return fmt.Errorf("wechat_oauth: scope: %q is not snsapi_base or snsapi_userinfo", h.Scope)
	}
	for _, u := range []struct{ opt, val string }{{"api_base", h.APIBase}, {"authorize_url", h.AuthorizeURL}} {
		if u.val == "" {
			continue
		}
		if err := checkBaseURL(u.val); err != nil {
			return fmt.Errorf("wechat_oauth: %s: %q %v", u.opt, u.val, err)
		}
	}
	if h.CallbackPath != "" && !validCallbackPath(h.CallbackPath) {
		return fmt.Errorf("wechat_oauth: callback_path: %q is not a path (it starts with / and has no query, fragment, space or control character)", h.CallbackPath)
	}
	for _, hd := range []struct{ opt, val string }{{"header", h.Header}, {"unionid_header", h.UnionIDHeader}} {
		if hd.val != "" && !validToken(hd.val) {
			return fmt.Errorf("wechat_oauth: %s: %q is not a header name", hd.opt, hd.val)
		}
	}
	openID, unionID := orDefault(h.Header, DefaultHeader), orDefault(h.UnionIDHeader, DefaultUnionIDHeader)
	if sameHeaderName(openID, unionID) {
		return fmt.Errorf("wechat_oauth: header: the openid and unionid headers are both %q", openID)
	}
	if h.CookieName != "" && (!validToken(h.CookieName) || len(h.CookieName) > maxCookieName) {
		return fmt.Errorf("wechat_oauth: cookie_name: %q is not a cookie name of at most %d letters, digits and !#$%%&'*+-.^_`|~", h.CookieName, maxCookieName)
	}
	if d := time.Duration(h.MaxAge); d != 0 && (d < time.Second || d > MaxMaxAge) {
		return fmt.Errorf("wechat_oauth: max_age: %s is not from 1s to 400d", d)
	}
	switch h.OutsideWeChat {
	case "", OutsidePass, OutsideDeny:
	default:
		return fmt.Errorf("wechat_oauth: outside_wechat: %q is not pass or deny", h.OutsideWeChat)
	}
	return nil
}

// resolveSecret resolves app_secret's {env.*} and {file.*} placeholders.
// Errors name the placeholder, never a value.
func resolveSecret(raw string) (string, error) {
	secret, err := caddy.NewReplacer().ReplaceOrErr(raw, true, true)
	if err != nil {
		return "", fmt.Errorf("wechat_oauth: app_secret: %v", err)
	}
	secret = strings.TrimSpace(secret) // {file.*} keeps the newline editors add
	if secret == "" {
		return "", errors.New("wechat_oauth: app_secret: resolves to an empty value")
	}
	return secret, nil
}

// checkBaseURL accepts an absolute http(s) URL without query or fragment,
// to which a path or a query is then appended.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("is not an http:// or https:// URL")
	case u.Host == "":
		return errors.New("has no host")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return errors.New("must have no query or fragment")
	case u.User != nil:
		return errors.New("must not carry user information")
	}
	return nil
}

// validAppID accepts what WeChat issues (wx + 16 hex digits) and the
// letters-and-digits variants test accounts and sandboxes use.
func validAppID(s string) bool {
	if len(s) < 3 || len(s) > 64 || !strings.HasPrefix(s, "wx") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

func validCallbackPath(p string) bool {
	if len(p) < 2 || p[0] != '/' || p[1] == '/' || p[1] == '\\' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == 0x7f || c == '?' || c == '#' {
			return false
		}
	}
	return true
}

// validToken reports whether s is an RFC 9110 token, which is what header
// and cookie names are.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isPlaceholder(s string) bool {
	return strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}")
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
