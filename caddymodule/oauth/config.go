package oauth

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/identity"
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
	// ScopeBase is silent and yields the openid (and unionid) only; in
	// WeCom mode the userid or the openid.
	ScopeBase = "snsapi_base"
	// ScopeUserInfo asks the user's consent; the profile itself is not
	// fetched (yet), so it only matters for the unionid rules. Official
	// Account mode only.
	ScopeUserInfo = "snsapi_userinfo"
	// ScopePrivateInfo is WeCom's consent scope (a member's private
	// details, which are not fetched). WeCom mode only.
	ScopePrivateInfo = "snsapi_privateinfo"
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

// applyDefaults fills in the defaults of the options left unset, and
// nothing else: Provision runs it on the handler, UnmarshalCaddyfile on a
// copy it validates, so the adapted JSON keeps only what the operator
// wrote. cookie_name has no default of its own: unset, the name depends on
// the request's scheme (cookieNames).
func (h *Handler) applyDefaults() {
	if h.Scope == "" {
		h.Scope = DefaultScope
	}
	if h.APIBase == "" {
		h.APIBase = wechat.DefaultBaseURL
		if h.weCom() {
			h.APIBase = wechat.DefaultWeComBaseURL
		}
	}
	if h.AuthorizeURL == "" {
		h.AuthorizeURL = DefaultAuthorizeURL
	}
	if h.CallbackPath == "" {
		h.CallbackPath = DefaultCallbackPath
		if h.weCom() {
			h.CallbackPath = DefaultWeComCallbackPath
		}
	}
	if !h.weCom() { // WeCom mode's headers are fixed
		if h.Header == "" {
			h.Header = DefaultHeader
		}
		if h.UnionIDHeader == "" {
			h.UnionIDHeader = DefaultUnionIDHeader
		}
	}
	if h.MaxAge == 0 {
		h.MaxAge = caddy.Duration(DefaultMaxAge)
	}
	if h.OutsideWeChat == "" {
		h.OutsideWeChat = OutsidePass
	}
}

// Validate reports the first problem of the defaulted configuration (Caddy
// calls it after Provision; UnmarshalCaddyfile on a defaulted copy),
// naming the directive and the option. It changes nothing, so that
// `caddy adapt` reports the same errors as a config load. Its errors never
// quote app_secret or corp_secret.
func (h *Handler) Validate() error {
	if err := h.validateMode(); err != nil {
		return err
	}
	if h.weCom() {
		if err := h.validateWeCom(); err != nil {
			return err
		}
	} else {
		if h.AppID == "" {
			return errors.New("wechat_oauth: app_id is required (or corp_id, agent_id and corp_secret for a WeCom app)")
		}
		if !wechat.ValidAppID(h.AppID) {
			return fmt.Errorf("wechat_oauth: app_id %q is not a WeChat AppID (wx followed by letters and digits)", h.AppID)
		}
		if h.AppSecret == "" {
			return errors.New("wechat_oauth: app_secret is required")
		}
		switch h.Scope {
		case ScopeBase, ScopeUserInfo:
		case ScopePrivateInfo:
			return fmt.Errorf("wechat_oauth: scope: %q is not snsapi_base or snsapi_userinfo (snsapi_privateinfo is WeCom's: corp_id, agent_id and corp_secret)", h.Scope)
		default:
			return fmt.Errorf("wechat_oauth: scope: %q is not snsapi_base or snsapi_userinfo", h.Scope)
		}
	}
	for _, u := range []struct{ opt, val string }{{"api_base", h.APIBase}, {"authorize_url", h.AuthorizeURL}} {
		if err := checkBaseURL(u.val); err != nil {
			return fmt.Errorf("wechat_oauth: %s: %q %v", u.opt, u.val, err)
		}
	}
	if !validCallbackPath(h.CallbackPath) {
		return fmt.Errorf("wechat_oauth: callback_path: %q is not a path (it starts with / and has no query, fragment, space or control character)", h.CallbackPath)
	}
	if !h.weCom() {
		for _, hd := range []struct{ opt, val string }{{"header", h.Header}, {"unionid_header", h.UnionIDHeader}} {
			// any token, however long: wechat_oauth has always taken that
			// (config.ValidHeaderName would stop at 128 bytes)
			if !config.ValidToken(hd.val) {
				return fmt.Errorf("wechat_oauth: %s: %q is not a header name", hd.opt, hd.val)
			}
		}
		if identity.SameName(h.Header, h.UnionIDHeader) {
			return fmt.Errorf("wechat_oauth: header: the openid and unionid headers are both %q", h.Header)
		}
	}
	if h.CookieName != "" && (!config.ValidToken(h.CookieName) || len(h.CookieName) > maxCookieName) {
		return fmt.Errorf("wechat_oauth: cookie_name: %q is not a cookie name of at most %d letters, digits and !#$%%&'*+-.^_`|~", h.CookieName, maxCookieName)
	}
	if d := time.Duration(h.MaxAge); d < time.Second || d > MaxMaxAge {
		return fmt.Errorf("wechat_oauth: max_age: %s is not from 1s to 400d", d)
	}
	switch h.OutsideWeChat {
	case OutsidePass, OutsideDeny:
	default:
		return fmt.Errorf("wechat_oauth: outside_wechat: %q is not pass or deny", h.OutsideWeChat)
	}
	return nil
}

// checkBaseURL accepts an absolute http(s) URL without query or fragment,
// to which a path or a query is then appended. It is not
// config.CheckHTTPURL: that one takes either an origin (no path, no
// query) or a URL with both, and these URLs have a path (authorize_url)
// but must not have a query (the handler appends its own).
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

// validCallbackPath accepts an absolute path that a redirect_uri can end
// in: it starts with one '/' ("//host" and "/\host" are other hosts to a
// browser) and has no query, fragment, space or control character. It is
// not config.ValidPathChars, which also refuses non-ASCII, '%' and quotes:
// a callback path has always been allowed them.
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

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
