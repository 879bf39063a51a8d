package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// WeCom sign-in: the authorize page is WeChat's (open.weixin.qq.com), with
// appid=CORPID and agentid=AGENTID after state; the code is exchanged at
// GET /cgi-bin/auth/getuserinfo with an app's access token, for a member's
// userid or a non-member's openid.
const (
	// sandboxMemberCookie says, on the sandbox's origin, whether the user
	// signing in is a member of the corp: "0" for a non-member, "1" (the
	// default) for a member.
	sandboxMemberCookie = "wechat_sandbox_member"
	// wecomScopePrivate is the scope that also grants a member's private
	// details; it needs agentid.
	wecomScopePrivate = "snsapi_privateinfo"
)

// wecomUserIDRE is the shape of a WeCom userid: 1 to 64 of letters, digits
// and _-@.
var wecomUserIDRE = regexp.MustCompile(`^[A-Za-z0-9_@.-]{1,64}$`)

// wecomGrant is what a WeCom sign-in code stands for: a member's userid or
// a non-member's openid, and the agent the link named ("" for none).
type wecomGrant struct {
	agent, userID, openID string
	expires               time.Time
	used                  bool
}

// serveWeComAuthorize plays the authorize page for a link whose appid is
// the corp's: WeChat's page checks (in order, then values; see
// serveAuthorize, which has checked the order of the first five) plus
// WeCom's: agentid, when given, right after state (or after scope without a
// state) and one of the corp's agents; scope snsapi_base or
// snsapi_privateinfo (which needs agentid). The user is chosen as for the
// Official Account (`user` parameter, wechat_sandbox_user cookie,
// "sandbox-user"), and is a member of the corp unless the link carries
// &member=0 or the browser has the cookie wechat_sandbox_member=0. A member's
// name is their userid.
func (h *Handler) serveWeComAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if msg := checkWeComAgentOrder(r.URL.RawQuery); msg != "" {
		writeAuthorizeError(w, http.StatusBadRequest, msg)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	agent := q.Get("agentid")
	switch state := q.Get("state"); {
	case q.Get("response_type") != "code":
		writeAuthorizeError(w, http.StatusBadRequest, "response_type must be code")
		return
	case q.Get("scope") != "snsapi_base" && q.Get("scope") != wecomScopePrivate:
		writeAuthorizeError(w, http.StatusBadRequest, "scope must be snsapi_base or snsapi_privateinfo for a WeCom corp")
		return
	case q.Get("scope") == wecomScopePrivate && agent == "":
		writeAuthorizeError(w, http.StatusBadRequest, "scope snsapi_privateinfo needs agentid")
		return
	case q.Has("agentid") && !h.isAgent(agent):
		writeAuthorizeError(w, http.StatusBadRequest, fmt.Sprintf("agentid %q is not an agent of this corp", agent))
		return
	case err != nil || (redirect.Scheme != "http" && redirect.Scheme != "https") || redirect.Host == "":
		writeAuthorizeError(w, http.StatusBadRequest, "redirect_uri must be an absolute http or https URL")
		return
	case len(state) > maxOAuthState || strings.ContainsFunc(state, func(c rune) bool { return !isAlnumRune(c) }):
		writeAuthorizeError(w, http.StatusBadRequest, "state must be at most 128 letters and digits")
		return
	}
	user := pick(q.Get("user"), cookieValue(r, sandboxUserCookie), defaultSandboxUser)
	member := pick(q.Get("member"), cookieValue(r, sandboxMemberCookie), "1")
	g := &wecomGrant{agent: agent}
	switch member {
	case "1":
		if !wecomUserIDRE.MatchString(user) {
			writeAuthorizeError(w, http.StatusBadRequest, "a member's user (their userid) must be 1 to 64 letters, digits, _, -, @ or .")
			return
		}
		g.userID = user
	case "0":
		if len(user) > maxSandboxUser {
			writeAuthorizeError(w, http.StatusBadRequest, "user must be at most 64 bytes")
			return
		}
		g.openID = sandboxOpenID(h.CorpID, user)
	default:
		writeAuthorizeError(w, http.StatusBadRequest, "member must be 1 (a member of the corp) or 0 (a non-member)")
		return
	}
	code := h.state.issueWeComCode(h.CorpID, h.clock(), g)
	back := url.Values{"code": {code}}.Encode()
	if state := q.Get("state"); state != "" {
		back += "&state=" + state
	}
	if redirect.RawQuery != "" {
		back = redirect.RawQuery + "&" + back
	}
	redirect.RawQuery = back
	w.Header().Set("Location", redirect.String())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusFound)
}

// checkWeComAgentOrder says what is wrong with the place of agentid in a
// WeCom authorize link, or "": it comes right after WeChat's parameters.
func checkWeComAgentOrder(rawQuery string) string {
	var keys []string
	for kv := range strings.SplitSeq(rawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	i := slices.Index(keys, "agentid")
	if i < 0 {
		return ""
	}
	want := len(authorizeParams) - 1 // appid, redirect_uri, response_type, scope
	if slices.Contains(keys, "state") {
		want++
	}
	if i != want {
		return "agentid must come right after state (WeCom's order: appid, redirect_uri, response_type, scope, state, agentid)"
	}
	return ""
}

// pick returns the first non-empty value.
func pick[S ~string](vals ...S) S {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// cookieValue returns the value of r's cookie name, or "".
func cookieValue(r *http.Request, name string) string {
	if c, err := r.Cookie(name); err == nil {
		return c.Value
	}
	return ""
}

// wecomUserInfoReply is the answer of /cgi-bin/auth/getuserinfo: userid
// for a member, openid for a non-member.
type wecomUserInfoReply struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
	UserID  string `json:"userid,omitempty"`
	OpenID  string `json:"openid,omitempty"`
}

// serveWeComUserInfo emulates GET /cgi-bin/auth/getuserinfo?access_token=T&code=C:
// a code works once, within five minutes, with a token of the agent the
// authorize link named (any of the corp's when it named none).
func (h *Handler) serveWeComUserInfo(w http.ResponseWriter, r *http.Request) {
	agent := h.weComTokenOf(w, r)
	if agent == "" {
		return
	}
	code := r.URL.Query().Get("code")
	if code == "" {
		writeWeComError(w, codeWeComCodeMissing, "")
		return
	}
	g, detail := h.state.redeemWeComCode(h.CorpID, code, agent, h.clock())
	if detail != "" {
		writeWeComError(w, codeWeComInvalidCode, detail)
		return
	}
	writeJSON(w, http.StatusOK, wecomUserInfoReply{ErrMsg: "ok", UserID: g.userID, OpenID: g.openID})
}

// issueWeComCode remembers a new sign-in code for g, valid for
// oauthCodeTTL.
func (s *state) issueWeComCode(corpID string, now time.Time, g *wecomGrant) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.corp(corpID)
	if len(c.codes) >= c.codesPruneAt {
		for code, old := range c.codes {
			if !now.Before(old.expires) {
				delete(c.codes, code)
			}
		}
		c.codesPruneAt = max(minPrune, 2*len(c.codes))
	}
	code := newOAuthCode()
	g.expires = now.Add(oauthCodeTTL)
	c.codes[code] = g
	return code
}

// redeemWeComCode uses code once for a call with agent's token. It returns
// the grant, or why WeCom answers 40029: unknown or expired, used, or
// issued for another agent (which leaves it unused).
func (s *state) redeemWeComCode(corpID, code, agent string, now time.Time) (wecomGrant, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.corp(corpID).codes[code]
	switch {
	case !ok || !now.Before(g.expires):
		return wecomGrant{}, "unknown or expired (a code lives 5 minutes)"
	case g.used:
		return wecomGrant{}, "code been used"
	case g.agent != "" && g.agent != agent:
		return wecomGrant{}, fmt.Sprintf("issued for agent %s, exchanged with a token of agent %s", g.agent, agent)
	}
	g.used = true
	return *g, ""
}
