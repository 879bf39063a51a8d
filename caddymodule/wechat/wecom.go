package wechat

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// DefaultWeComBaseURL is the WeCom (企业微信) API origin, used by the WeCom
// methods when Client.BaseURL is empty.
const DefaultWeComBaseURL = "https://qyapi.weixin.qq.com"

// The WeCom endpoint paths, as they appear in errors.
const (
	// PathWeComToken is gettoken: an app's access token from the corp ID
	// and the app's own secret.
	PathWeComToken = "/cgi-bin/gettoken"
	// PathWeComCorpTicket is the corp jsapi_ticket, which signs wx.config.
	PathWeComCorpTicket = "/cgi-bin/get_jsapi_ticket"
	// PathWeComAgentTicket is the app (agent) jsapi_ticket, which signs
	// wx.agentConfig (type=agent_config).
	PathWeComAgentTicket = "/cgi-bin/ticket/get"
	// PathWeComUserInfo exchanges a WeCom sign-in (OAuth) code.
	PathWeComUserInfo = "/cgi-bin/auth/getuserinfo"
)

// WeComToken calls GET /cgi-bin/gettoken?corpid=…&corpsecret=…. Each app of
// a corp has its own secret, and so its own token. WeCom hands back the same
// token while it is valid, so a call does not invalidate what other holders
// of the app's token have. An errcode 40001 here means the secret is wrong
// (Classify says ClassConfig), unlike at the other endpoints, where it means
// the access token is.
func (c *Client) WeComToken(ctx context.Context, corpID, secret string) (Credential, error) {
	q := url.Values{"corpid": {corpID}, "corpsecret": {secret}}
	var r reply
	if err := c.doAt(ctx, DefaultWeComBaseURL, http.MethodGet, PathWeComToken, q, nil, &r, secret); err != nil {
		return Credential{}, err
	}
	return r.credential(PathWeComToken, r.AccessToken, "access_token")
}

// WeComCorpTicket calls GET /cgi-bin/get_jsapi_ticket: the corp's
// jsapi_ticket, for wx.config. WeCom allows about 400 a corp and 100 an app
// per hour.
func (c *Client) WeComCorpTicket(ctx context.Context, accessToken string) (Credential, error) {
	q := url.Values{"access_token": {accessToken}}
	var r reply
	if err := c.doAt(ctx, DefaultWeComBaseURL, http.MethodGet, PathWeComCorpTicket, q, nil, &r, accessToken); err != nil {
		return Credential{}, err
	}
	return r.credential(PathWeComCorpTicket, r.Ticket, "ticket")
}

// WeComAgentTicket calls GET /cgi-bin/ticket/get?type=agent_config: the
// app's jsapi_ticket, for wx.agentConfig, fetched with the app's token.
// WeCom allows about 100 an app per hour.
func (c *Client) WeComAgentTicket(ctx context.Context, accessToken string) (Credential, error) {
	q := url.Values{"access_token": {accessToken}, "type": {"agent_config"}}
	var r reply
	if err := c.doAt(ctx, DefaultWeComBaseURL, http.MethodGet, PathWeComAgentTicket, q, nil, &r, accessToken); err != nil {
		return Credential{}, err
	}
	return r.credential(PathWeComAgentTicket, r.Ticket, "ticket")
}

// WeComUser is who a WeCom sign-in code stands for: a member of the corp
// (UserID) or someone who is not (OpenID). The user_ticket of a member's
// answer is deliberately left out: nothing here needs it, and a value that
// is never kept cannot leak.
type WeComUser struct {
	// UserID is the member's account in the corp; empty for a non-member.
	UserID string
	// OpenID identifies a non-member within the corp; empty for a member.
	OpenID string
	// ExternalUserID is a non-member's external contact ID, when WeCom
	// gives one.
	ExternalUserID string
}

// Member reports whether the user is a member of the corp.
func (u WeComUser) Member() bool { return u.UserID != "" }

// weComUserReply is getuserinfo's answer.
type weComUserReply struct {
	ErrCode        int    `json:"errcode"`
	ErrMsg         string `json:"errmsg"`
	UserID         string `json:"userid"`
	OpenID         string `json:"openid"`
	ExternalUserID string `json:"external_userid"`
}

func (r *weComUserReply) errInfo() (int, string) { return r.ErrCode, r.ErrMsg }

// WeComUserInfo exchanges a WeCom sign-in code: GET
// /cgi-bin/auth/getuserinfo?access_token=…&code=…, with the token of the
// app the sign-in link named (agentid). A code works once and for five
// minutes. WeCom's refusal of the code itself is an *APIError for which
// IsCodeRejected holds (40029); a rejected token is ClassInvalidToken. No
// error carries the token or the code.
func (c *Client) WeComUserInfo(ctx context.Context, accessToken, code string) (WeComUser, error) {
	const endpoint = PathWeComUserInfo
	q := url.Values{"access_token": {accessToken}, "code": {code}}
	var r weComUserReply
	if err := c.doAt(ctx, DefaultWeComBaseURL, http.MethodGet, endpoint, q, nil, &r, accessToken, code); err != nil {
		return WeComUser{}, err
	}
	bad := func(reason string) error {
		return &ResponseError{Endpoint: endpoint, StatusCode: http.StatusOK, Reason: reason}
	}
	switch {
	case r.UserID == "" && r.OpenID == "":
		return WeComUser{}, bad("answer has neither userid nor openid")
	case r.UserID != "" && !validUserID(r.UserID):
		return WeComUser{}, bad("answer has an unusable userid")
	case r.OpenID != "" && !validOpenID(r.OpenID):
		return WeComUser{}, bad("answer has an unusable openid")
	case r.ExternalUserID != "" && !validOpenID(r.ExternalUserID):
		return WeComUser{}, bad("answer has an unusable external_userid")
	}
	return WeComUser{UserID: r.UserID, OpenID: r.OpenID, ExternalUserID: r.ExternalUserID}, nil
}

// validUserID accepts what WeCom allows in a member's UserID (letters,
// digits and "_-@.", at most 64 bytes; twice that is accepted), which is
// also what may go into a request header and a cookie without escaping.
func validUserID(s string) bool {
	if s == "" || len(s) > 2*64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '@' || c == '.') {
			return false
		}
	}
	return true
}

// WeComApp binds a Client to one WeCom app (corp ID, agent ID and the app's
// secret), so that the credential store can use it without ever seeing the
// secret. Its String, GoString and Format never print the secret.
type WeComApp struct {
	// Client makes the calls; nil means a zero Client (so
	// DefaultWeComBaseURL).
	Client *Client
	// CorpID is the corp's ID (ww… or wx…).
	CorpID string
	// AgentID is the app's AgentId. No credential call needs it (the token
	// is already the app's); it names the app in logs and sign-in links.
	AgentID string
	// Secret is the app's Secret.
	Secret string
}

// AccessToken fetches the app's access token (gettoken).
func (a *WeComApp) AccessToken(ctx context.Context) (Credential, error) {
	return a.client().WeComToken(ctx, a.CorpID, a.Secret)
}

// CorpTicket fetches the corp jsapi_ticket (wx.config) with accessToken.
func (a *WeComApp) CorpTicket(ctx context.Context, accessToken string) (Credential, error) {
	return a.client().WeComCorpTicket(ctx, accessToken)
}

// AgentTicket fetches the app jsapi_ticket (wx.agentConfig) with
// accessToken.
func (a *WeComApp) AgentTicket(ctx context.Context, accessToken string) (Credential, error) {
	return a.client().WeComAgentTicket(ctx, accessToken)
}

// UserInfo exchanges a sign-in code with accessToken.
func (a *WeComApp) UserInfo(ctx context.Context, accessToken, code string) (WeComUser, error) {
	return a.client().WeComUserInfo(ctx, accessToken, code)
}

func (a *WeComApp) client() *Client {
	if a.Client == nil {
		return &Client{}
	}
	return a.Client
}

// String describes the app without its secret.
func (a WeComApp) String() string {
	return fmt.Sprintf("wechat.WeComApp{CorpID:%q, AgentID:%q, Secret:%s}", a.CorpID, a.AgentID, redactedValue(a.Secret))
}

// GoString is String: %#v must not print the secret either.
func (a WeComApp) GoString() string { return a.String() }

// Format prints String for every verb.
func (a WeComApp) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(a.String())) }

// isWeCom says whether endpoint is one of WeCom's.
func isWeCom(endpoint string) bool {
	switch endpoint {
	case PathWeComToken, PathWeComCorpTicket, PathWeComAgentTicket, PathWeComUserInfo:
		return true
	}
	return false
}

// weComCodeClasses are the WeCom errcodes whose meaning differs from, or is
// missing in, the Official Account table; they apply to WeCom endpoints
// only. 40001 is "invalid secret" at gettoken (see weComTokenClasses) and
// an invalid token elsewhere, as in the common table.
var weComCodeClasses = map[int]Class{
	41002: ClassConfig,      // corpid missing
	41004: ClassConfig,      // corpsecret missing
	48002: ClassConfig,      // the app may not call this API
	60020: ClassIPWhitelist, // the caller's IP is not among the app's trusted IPs
}

// weComTokenClasses override both tables at gettoken.
var weComTokenClasses = map[int]Class{
	40001: ClassConfig, // invalid corpsecret
}
