package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Web OAuth paths: the sandbox plays open.weixin.qq.com and
// api.weixin.qq.com at once.
const (
	pathOAuthAuthorize = "/connect/oauth2/authorize"
	pathOAuthToken     = "/sns/oauth2/access_token"
)

// Web OAuth behaviour the sandbox mimics.
const (
	// oauthCodeTTL is how long WeChat honours an OAuth code.
	oauthCodeTTL = 5 * time.Minute
	// oauthCodeLen is the length of an issued code, as WeChat's.
	oauthCodeLen = 32
	// maxOAuthState is WeChat's limit on state: 128 bytes of [A-Za-z0-9].
	maxOAuthState = 128
	// defaultSandboxUser is who signs in when the request names nobody.
	defaultSandboxUser = "sandbox-user"
	// sandboxUserCookie names the sandbox user on the sandbox's origin, as
	// the WeChat account signed in on a phone would.
	sandboxUserCookie = "wechat_sandbox_user"
	// maxSandboxUser bounds a user name.
	maxSandboxUser = 64
)

// WeChat's web OAuth error codes.
const (
	codeInvalidOAuthCode = 40029
	codeOAuthCodeUsed    = 40163
	codeOAuthCodeMissing = 41008
)

// oauthErrmsgs are WeChat's messages for the codes above.
var oauthErrmsgs = map[int]string{
	codeInvalidOAuthCode: "invalid code",
	codeOAuthCodeUsed:    "code been used",
	codeOAuthCodeMissing: "missing code",
}

// authorizeParams are the parameters WeChat's authorize link must start
// with, in this order; WeChat refuses to open the page otherwise. state is
// optional at WeChat, so it may be missing, but not out of place.
var authorizeParams = []string{"appid", "redirect_uri", "response_type", "scope", "state"}

// oauthGrant is what an issued code stands for.
type oauthGrant struct {
	openID, unionID, scope string
	expires                time.Time
	used                   bool
}

// oauthCodes is the web OAuth part of an app's state; its zero value is
// ready. It is guarded by the state's mutex.
type oauthCodes struct {
	codes   map[string]*oauthGrant
	pruneAt int
}

// serveAuthorize emulates WeChat's authorize page for both scopes the way
// snsapi_base behaves: no consent page, straight back to redirect_uri with
// a fresh code and the given state. The link is checked as WeChat checks
// it: the parameters in order, the app ID, response_type=code, a known
// scope, an absolute http(s) redirect_uri and a state of at most 128
// letters and digits. The #wechat_redirect fragment never reaches a
// server, so it cannot be checked here. A `user` parameter after the
// standard ones, or the wechat_sandbox_user cookie, chooses who signs in.
func (h *Handler) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeAuthorizeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if msg := checkAuthorizeOrder(r.URL.RawQuery); msg != "" {
		writeAuthorizeError(w, http.StatusBadRequest, msg)
		return
	}
	q := r.URL.Query()
	if h.isWeComCorp(q.Get("appid")) { // WeCom's sign-in (wecom_oauth.go)
		h.serveWeComAuthorize(w, r)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch state := q.Get("state"); {
	case q.Get("appid") != h.AppID:
		writeAuthorizeError(w, http.StatusBadRequest, "appid does not match this sandbox")
		return
	case q.Get("response_type") != "code":
		writeAuthorizeError(w, http.StatusBadRequest, "response_type must be code")
		return
	case q.Get("scope") != "snsapi_base" && q.Get("scope") != "snsapi_userinfo":
		writeAuthorizeError(w, http.StatusBadRequest, "scope must be snsapi_base or snsapi_userinfo")
		return
	case err != nil || (redirect.Scheme != "http" && redirect.Scheme != "https") || redirect.Host == "":
		writeAuthorizeError(w, http.StatusBadRequest, "redirect_uri must be an absolute http or https URL")
		return
	case len(state) > maxOAuthState || strings.ContainsFunc(state, func(c rune) bool { return !isAlnumRune(c) }):
		writeAuthorizeError(w, http.StatusBadRequest, "state must be at most 128 letters and digits")
		return
	}
	user := q.Get("user")
	if user == "" {
		if c, err := r.Cookie(sandboxUserCookie); err == nil {
			user = c.Value
		}
	}
	if user == "" {
		user = defaultSandboxUser
	}
	if len(user) > maxSandboxUser {
		writeAuthorizeError(w, http.StatusBadRequest, "user must be at most 64 bytes")
		return
	}
	code := h.state.issueOAuthCode(h.clock(), &oauthGrant{
		openID: sandboxOpenID(h.AppID, user), unionID: sandboxUnionID(user), scope: q.Get("scope"),
	})
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

// checkAuthorizeOrder says what is wrong with the order of the authorize
// link's parameters, or "". Parameters after the standard ones are
// allowed (WeChat has a few of its own; the sandbox reads user).
func checkAuthorizeOrder(rawQuery string) string {
	var keys []string
	for kv := range strings.SplitSeq(rawQuery, "&") {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
	}
	want := authorizeParams
	if !slices.Contains(keys, "state") {
		want = want[:len(want)-1]
	}
	for i, k := range want {
		if i >= len(keys) || keys[i] != k {
			return fmt.Sprintf("the link must start with %s, in this order (parameter %d is not %s)",
				strings.Join(authorizeParams, ", "), i+1, k)
		}
	}
	return ""
}

// serveOAuthToken emulates GET /sns/oauth2/access_token: a code works
// once, for five minutes, and stands for the user the authorize call
// named. The user access_token in the answer is random and good for
// nothing: the sandbox has no /sns/userinfo.
func (h *Handler) serveOAuthToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeWeChatError(w, http.StatusOK, codeRequireGET)
		return
	}
	q := r.URL.Query()
	var code int
	switch {
	case q.Get("appid") == "":
		code = codeAppIDMissing
	case q.Get("appid") != h.AppID:
		code = codeInvalidAppID
	case q.Get("secret") == "":
		code = codeSecretMissing
	case subtle.ConstantTimeCompare([]byte(q.Get("secret")), []byte(h.secret)) != 1:
		code = codeInvalidSecret
	case q.Get("grant_type") != "authorization_code":
		code = codeInvalidGrantType
	case q.Get("code") == "":
		code = codeOAuthCodeMissing
	}
	if code != 0 {
		writeOAuthError(w, code)
		return
	}
	g, code := h.state.redeemOAuthCode(q.Get("code"), h.clock())
	if code != 0 {
		writeOAuthError(w, code)
		return
	}
	writeJSON(w, http.StatusOK, oauthTokenReply{
		AccessToken:  newCredential(tokenLen),
		ExpiresIn:    int(defaultTokenTTL / time.Second),
		RefreshToken: newCredential(tokenLen),
		OpenID:       g.openID,
		Scope:        g.scope,
		UnionID:      g.unionID,
	})
}

// oauthTokenReply is the answer of /sns/oauth2/access_token.
type oauthTokenReply struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	OpenID       string `json:"openid"`
	Scope        string `json:"scope"`
	UnionID      string `json:"unionid,omitempty"`
}

func writeOAuthError(w http.ResponseWriter, code int) {
	if msg, ok := oauthErrmsgs[code]; ok {
		writeJSON(w, http.StatusOK, wechatError{ErrCode: code, ErrMsg: msg + " rid: " + newRID()})
		return
	}
	writeWeChatError(w, http.StatusOK, code)
}

// writeAuthorizeError stands for the error page WeChat shows when it
// refuses an authorize link.
func writeAuthorizeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte("wechat_sandbox: authorize: " + msg + "\n"))
}

// sandboxOpenID is a stable openid for user in app: the same across
// sandbox restarts and instances, different per app, as at WeChat. It has
// WeChat's shape: 28 characters of [A-Za-z0-9_-], starting with o.
func sandboxOpenID(appID, user string) string {
	return "o" + derive("openid\x00"+appID, user)[:27]
}

// sandboxUnionID is user's unionid: the same for every app, as for the
// apps of one Open Platform account. The sandbox acts as an account bound
// to one, so every exchange returns it.
func sandboxUnionID(user string) string {
	return "u" + derive("unionid", user)[:27]
}

func derive(key, msg string) string {
	m := hmac.New(sha256.New, []byte("wechat_sandbox\x00"+key))
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newOAuthCode returns oauthCodeLen characters of [A-Za-z0-9].
func newOAuthCode() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, oauthCodeLen)
	_, _ = rand.Read(b) // never fails: crypto/rand crashes the program instead
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)] // a slight bias is fine for a sandbox
	}
	return string(b)
}

// issueOAuthCode remembers a new code for g, valid for oauthCodeTTL.
func (s *state) issueOAuthCode(now time.Time, g *oauthGrant) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := &s.oauth
	if o.codes == nil {
		o.codes, o.pruneAt = make(map[string]*oauthGrant), minPrune
	}
	if len(o.codes) >= o.pruneAt {
		for c, old := range o.codes {
			if !now.Before(old.expires) {
				delete(o.codes, c)
			}
		}
		o.pruneAt = max(minPrune, 2*len(o.codes))
	}
	code := newOAuthCode()
	g.expires = now.Add(oauthCodeTTL)
	o.codes[code] = g
	return code
}

// redeemOAuthCode uses code once: 40163 when it was used before, 40029
// when it was never issued or has expired.
func (s *state) redeemOAuthCode(code string, now time.Time) (oauthGrant, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.oauth.codes[code]
	switch {
	case !ok || !now.Before(g.expires):
		return oauthGrant{}, codeInvalidOAuthCode
	case g.used:
		return oauthGrant{}, codeOAuthCodeUsed
	}
	g.used = true
	return *g, 0
}

func isAlnumRune(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
