package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-wechat/jssdk/caddymodule/credential"
	"github.com/caddy-wechat/jssdk/caddymodule/internal/config"
	"github.com/caddy-wechat/jssdk/caddymodule/wechat"
)

// WeCom (企业微信) mode: corp_id, agent_id and corp_secret instead of
// app_id and app_secret. The flow is the Official Account's (state,
// cookies, single use, headers stripped from every request); what differs
// is the authorize link (appid=corp_id, then agentid=agent_id after
// state), the browser sent to sign in (WeCom's: wxwork in its
// User-Agent), the code exchange (GET /cgi-bin/auth/getuserinfo with the
// app's access token) and what the upstream gets: X-WeCom-UserID for a
// member of the corp, X-WeCom-OpenID for anyone else.

// The identity headers of WeCom mode. They are fixed, and, like the
// Official Account's, stripped from every request the handler sees in
// either mode.
const (
	// WeComUserIDHeader carries a corp member's userid.
	WeComUserIDHeader = "X-WeCom-UserID"
	// WeComOpenIDHeader carries the openid of a user who is not a member
	// of the corp.
	WeComOpenIDHeader = "X-WeCom-OpenID"
)

// DefaultWeComCookieName is the session cookie's name in WeCom mode over
// http; over https it gets the __Host- prefix. It is not the Official
// Account's, so that a site with both kinds of sign-in (a shop for WeChat
// users, a back office for the corp's staff) keeps both sessions.
const DefaultWeComCookieName = "wechat_oauth_wecom"

// DefaultWeComCallbackPath is callback_path's default in WeCom mode. It
// is not the Official Account's either: of two wechat_oauth directives of
// one site, the first answers the callback path they share, and the other
// one's sign-ins would fail there. (WeCom's trusted domain, 可信域名, is a
// domain: any path of it will do.)
const DefaultWeComCallbackPath = "/.well-known/wecom-oauth/callback"

// weCom reports whether the handler is in WeCom mode: any of the three
// WeCom credential options is set (Validate then requires all three).
func (h *Handler) weCom() bool {
	return h.CorpID != "" || h.AgentID != "" || h.CorpSecret != ""
}

// appKey names the app in storage keys (the cookie key, the used states)
// and in the sealer's additional data: the AppID of an Official Account,
// wecom/<corp_id>/<agent_id> for a WeCom app. An AppID starts with wx, so
// the two kinds never share a key, a cookie or a record, even when a corp
// ID from the 企业号 era looks like an AppID; and each WeCom app of a corp
// has its own.
func (h *Handler) appKey() string {
	if h.weCom() {
		return "wecom/" + h.CorpID + "/" + h.AgentID
	}
	return h.AppID
}

// validateMode refuses a configuration that mixes the two kinds of app, or
// gives WeCom mode an option it does not use, naming the options.
func (h *Handler) validateMode() error {
	if !h.weCom() {
		return nil
	}
	var oa, wecom []string
	for _, o := range []struct {
		name string
		set  bool
	}{{"app_id", h.AppID != ""}, {"app_secret", h.AppSecret != ""}} {
		if o.set {
			oa = append(oa, o.name)
		}
	}
	for _, o := range []struct {
		name string
		set  bool
	}{{"corp_id", h.CorpID != ""}, {"agent_id", h.AgentID != ""}, {"corp_secret", h.CorpSecret != ""}} {
		if o.set {
			wecom = append(wecom, o.name)
		}
	}
	if len(oa) > 0 {
		return fmt.Errorf("wechat_oauth: %s cannot be used with %s: app_id and app_secret sign in through an Official Account (公众号), "+
			"corp_id, agent_id and corp_secret through a WeCom (企业微信) app; use one kind", strings.Join(oa, " and "), strings.Join(wecom, ", "))
	}
	for _, o := range []struct {
		name string
		set  bool
	}{{"header", h.Header != ""}, {"unionid_header", h.UnionIDHeader != ""}} {
		if o.set {
			return fmt.Errorf("wechat_oauth: %s: not used in WeCom mode, whose headers are %s (a member of the corp) and %s (anyone else)",
				o.name, WeComUserIDHeader, WeComOpenIDHeader)
		}
	}
	return nil
}

// validateWeCom checks the WeCom options of a configuration in WeCom mode.
// The values of corp_id and agent_id are not repeated: a secret pasted
// into the wrong option must not end up in a log.
func (h *Handler) validateWeCom() error {
	if err := config.CheckWeComApp("wechat_oauth", h.CorpID, h.AgentID, h.CorpSecret); err != nil {
		return err
	}
	switch h.Scope {
	case ScopeBase, ScopePrivateInfo:
	default:
		return fmt.Errorf("wechat_oauth: scope: %q is not snsapi_base or snsapi_privateinfo (WeCom mode)", h.Scope)
	}
	return nil
}

// isWeComClient reports whether r comes from WeCom's browser, the one
// WeCom's sign-in works in: its User-Agent says wxwork (wxwork/4.1.22 on
// phones, wxwork/… on the desktop clients), next to MicroMessenger.
func isWeComClient(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.UserAgent()), "wxwork")
}

// inClient reports whether r comes from the browser the handler's sign-in
// works in: WeChat's, or WeCom's in WeCom mode.
func (h *Handler) inClient(r *http.Request) bool {
	if h.weCom() {
		return isWeComClient(r)
	}
	return isWeChat(r)
}

// The access token of a WeCom app, for getuserinfo.
//
// weComTokens holds one credential.WeCom per app for the whole process, so
// that every site and every reload with the same app (corp, agent, API
// origin and secret) uses one token: a reload provisions the new config
// before the old one is cleaned up, and finds the holder the old one
// filled. The holder fetches nothing until a callback asks, one fetch
// however many callbacks wait, and replaces a token getuserinfo rejects
// once for all of them. Its two ticket stores are never asked, so never
// fetch.
//
// It is this package's own pool, not wechat_jssdk's: a site with both
// directives holds the app's token twice, once in each. That costs one
// gettoken per app every two hours more and breaks nothing, since WeCom
// hands back the same token to every caller while it is valid (unlike an
// Official Account's classic token, a gettoken call invalidates no other
// holder's). In exchange, sign-in depends on nothing of wechat_jssdk's,
// and stores no token in Caddy's storage.
var weComTokens = caddy.NewUsagePool()

// weComTokenEntry is a pooled WeCom token holder; the pool closes it when
// its last handler goes.
type weComTokenEntry struct{ wecom *credential.WeCom }

// Destruct implements caddy.Destructor.
func (e *weComTokenEntry) Destruct() error {
	e.wecom.Close()
	return nil
}

// weComPoolKey identifies what makes two holders interchangeable: the app,
// the API origin and the secret, as a hash (pool keys can end up in debug
// output; a changed secret must get a fresh holder).
func weComPoolKey(corpID, agentID, apiBase, secret string) string {
	sum := sha256.Sum256([]byte("wechat_oauth WeCom token\x00" + corpID + "\x00" + agentID + "\x00" + secret))
	return corpID + "|" + agentID + "|" + apiBase + "|" + hex.EncodeToString(sum[:8])
}

// acquireWeComToken takes the app's pooled token holder, creating it on
// first use. Provision calls it last, so that a failing Provision has
// taken nothing; Cleanup lets go of it.
func (h *Handler) acquireWeComToken() error {
	key := weComPoolKey(h.CorpID, h.AgentID, h.APIBase, h.secret)
	v, _, err := weComTokens.LoadOrNew(key, func() (caddy.Destructor, error) {
		w, err := credential.NewWeCom(credential.WeComConfig{
			Source: &wechat.WeComApp{
				Client:  &wechat.Client{BaseURL: h.APIBase},
				CorpID:  h.CorpID,
				AgentID: h.AgentID,
				Secret:  h.secret,
			},
			Logger:       h.logger.With(zap.String("corp_id", h.CorpID), zap.String("agent_id", h.AgentID)),
			FetchTimeout: exchangeTimeout,
		})
		if err != nil {
			return nil, err
		}
		return &weComTokenEntry{wecom: w}, nil
	})
	if err != nil {
		return fmt.Errorf("wechat_oauth: WeCom access token: %v", err)
	}
	h.wecom, h.poolKey = v.(*weComTokenEntry).wecom, key
	return nil
}

// releaseWeComToken lets go of the holder acquireWeComToken took, once.
func (h *Handler) releaseWeComToken() error {
	if h.poolKey == "" {
		return nil
	}
	key := h.poolKey
	h.poolKey = ""
	_, err := weComTokens.Delete(key)
	return err
}

// weComUser exchanges a sign-in code at getuserinfo with the app's access
// token. When WeCom rejects the token (40001, 40014, 42001: expired early,
// or replaced), the token is replaced, once for every callback that met
// the same rejection, and the code tried once more: a code WeCom refused
// for the token's sake is still unused.
func (h *Handler) weComUser(ctx context.Context, code string) (wechat.WeComUser, error) {
	token, err := h.wecom.AccessToken(ctx, "")
	if err != nil {
		return wechat.WeComUser{}, tokenError(err)
	}
	user, err := h.client.WeComUserInfo(ctx, token, code)
	if wechat.Classify(err) != wechat.ClassInvalidToken {
		return user, err
	}
	h.logger.Debug("callback: WeCom rejected the app's access token; replacing it and trying the code once more", zap.Error(err))
	token, err = h.wecom.AccessToken(ctx, token)
	if err != nil {
		return wechat.WeComUser{}, tokenError(err)
	}
	return h.client.WeComUserInfo(ctx, token, code)
}

// tokenError is the holder's error for the log: its cause (the gettoken
// failure, which Classify reads), without the credential package's
// "jsapi_ticket unavailable", which would mislead here.
func tokenError(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok && errors.Is(err, credential.ErrUnavailable) {
		for _, e := range j.Unwrap() {
			if e != credential.ErrUnavailable {
				return fmt.Errorf("the app's access token: %w", e)
			}
		}
	}
	return fmt.Errorf("the app's access token: %w", err)
}

// exchangeWeCom is exchange in WeCom mode: the code for a member's userid
// or a non-member's openid, and the session that carries it.
func (h *Handler) exchangeWeCom(ctx context.Context, p pending, code string, now time.Time) answer {
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	user, err := h.weComUser(ctx, code)
	cancel()
	if err != nil {
		return h.exchangeFailed(err)
	}
	s := session{OpenID: user.OpenID}
	if user.Member() {
		s = session{UserID: user.UserID}
	}
	s.Expires = now.Add(time.Duration(h.MaxAge)).Truncate(time.Second)
	h.logger.Debug("signed in through WeCom",
		zap.String("scope", h.Scope),
		zap.Bool("member", user.Member()))
	return answer{
		Status:   http.StatusFound,
		Session:  h.sealer.seal(purposeWeComSession, encodeWeComSession(s)),
		Expires:  s.Expires.Unix(),
		Location: p.Return,
	}
}

// WeCom session payload layout: expiry (int64 Unix seconds, big-endian),
// then userid and openid, each as a length byte and the bytes; exactly one
// of them is not empty. It is sealed for purposeWeComSession, under the
// app key wecom/<corp_id>/<agent_id>: an Official Account's session never
// opens as a WeCom one, nor one app's as another's.
func encodeWeComSession(s session) []byte {
	b := make([]byte, 8, sessionFixed+len(s.UserID)+len(s.OpenID))
	binary.BigEndian.PutUint64(b, uint64(s.Expires.Unix()))
	b = append(b, byte(len(s.UserID)))
	b = append(b, s.UserID...)
	b = append(b, byte(len(s.OpenID)))
	return append(b, s.OpenID...)
}

// decodeWeComSession parses what encodeWeComSession wrote and nothing
// else: the lengths must add up, exactly one id must be there, and it must
// be what WeCom issues (the value goes into a request header next).
func decodeWeComSession(b []byte) (session, bool) {
	if len(b) < sessionFixed {
		return session{}, false
	}
	exp := int64(binary.BigEndian.Uint64(b))
	userID, rest, ok := lengthPrefixed(b[8:])
	if !ok {
		return session{}, false
	}
	openID, rest, ok := lengthPrefixed(rest)
	if !ok || len(rest) != 0 || (userID == "") == (openID == "") || !validWeComUserIDOrEmpty(userID) || !validIDOrEmpty(openID) {
		return session{}, false
	}
	return session{Expires: time.Unix(exp, 0), UserID: userID, OpenID: openID}, true
}

// validWeComUserIDOrEmpty accepts WeCom's userid alphabet: letters,
// digits and "_-@.".
func validWeComUserIDOrEmpty(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '@' && c != '.' {
			return false
		}
	}
	return true
}
