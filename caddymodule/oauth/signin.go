package oauth

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/origin"
)

// startSignIn sends a WeChat (or WeCom) browser without a session to the
// authorize page, with a fresh state bound to this browser by the state
// cookie, which also keeps the URL to come back to.
func (h *Handler) startSignIn(w http.ResponseWriter, r *http.Request, https bool) {
	p := pending{ID: newStateID(), Expires: h.now().Add(stateTTL), Return: returnTarget(r)}
	_, stateCookie := h.cookieNames(https)
	http.SetCookie(w, h.cookie(stateCookie, h.sealer.seal(purposeState, encodePending(p)), stateTTL, https))
	hdr := w.Header()
	hdr.Set("Location", h.authorizeURL(string(origin.Append(nil, r)), p.ID.param()))
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
	if h.weCom() {
		h.logger.Debug("no session: redirecting to WeCom's sign-in")
	} else {
		h.logger.Debug("no session: redirecting to WeChat to sign in")
	}
}

// authorizeURL is WeChat's authorize link. WeChat matches it strictly: the
// parameters in exactly this order, and #wechat_redirect at the end, or
// the authorization page does not open. url.Values would sort them, so the
// link is written out by hand. WeCom's link is the same with the corp ID
// as appid and agentid=<agent_id> after state.
func (h *Handler) authorizeURL(siteOrigin, state string) string {
	appID := h.AppID
	if h.weCom() {
		appID = h.CorpID
	}
	var b strings.Builder
	b.WriteString(h.AuthorizeURL)
	b.WriteString("?appid=")
	b.WriteString(url.QueryEscape(appID))
	b.WriteString("&redirect_uri=")
	b.WriteString(url.QueryEscape(siteOrigin + h.CallbackPath))
	b.WriteString("&response_type=code&scope=")
	b.WriteString(h.Scope)
	b.WriteString("&state=")
	b.WriteString(state)
	if h.weCom() {
		b.WriteString("&agentid=")
		b.WriteString(url.QueryEscape(h.AgentID))
	}
	b.WriteString("#wechat_redirect")
	return b.String()
}

// signInRequired is the 401 body for a request that cannot follow a
// redirect to WeChat (a POST, an XHR): the page should reload, which signs
// the user in. signInRequiredWeCom is WeCom mode's.
const (
	signInRequired      = `{"error":"wechat_oauth_required","message":"no WeChat session: reload the page in WeChat to sign in"}` + "\n"
	signInRequiredWeCom = `{"error":"wechat_oauth_required","message":"no WeCom session: reload the page in WeCom to sign in"}` + "\n"
)

func (h *Handler) writeSignInRequired(w http.ResponseWriter) {
	body := signInRequired
	if h.weCom() {
		body = signInRequiredWeCom
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(body))
}

// outsideWeChatPage is the 403 page of outside_wechat deny, in the words
// WeChat itself uses for a link opened elsewhere; outsideWeComPage is
// WeCom mode's, in WeCom's.
const (
	outsideWeChatPage = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>请在微信客户端打开链接</title></head>
<body><p>请在微信客户端打开链接。</p><p lang="en">Please open this page in WeChat.</p></body></html>
`
	outsideWeComPage = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>请在企业微信客户端打开链接</title></head>
<body><p>请在企业微信客户端打开链接。</p><p lang="en">Please open this page in WeCom.</p></body></html>
`
)

// outsideWeChatJSON is the same refusal for a request that is not a page
// load; outsideWeComJSON WeCom mode's.
const (
	outsideWeChatJSON = `{"error":"wechat_required","message":"open this page in WeChat"}` + "\n"
	outsideWeComJSON  = `{"error":"wecom_required","message":"open this page in WeCom"}` + "\n"
)

func (h *Handler) writeOutside(w http.ResponseWriter, r *http.Request) {
	page, json := outsideWeChatPage, outsideWeChatJSON
	if h.weCom() {
		page, json = outsideWeComPage, outsideWeComJSON
	}
	hdr := w.Header()
	body, ctype := page, "text/html; charset=utf-8"
	if !isNavigation(r) {
		body, ctype = json, "application/json; charset=utf-8"
	}
	hdr.Set("Content-Type", ctype)
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusForbidden)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}
