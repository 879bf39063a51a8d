package sandbox

import (
	"net/http"
	"net/url"
	"testing"
)

// The WeCom corp of the tests: two apps.
const (
	testCorpID       = "ww0123456789abcdef"
	testAgentID      = "1000002"
	testAgentSecret  = "agent-1000002-secret-0123456789abcdefghij"
	testAgent2ID     = "1000003"
	testAgent2Secret = "agent-1000003-secret-0123456789abcdefghij"
)

// newWeComTestHandler provisions a sandbox that also plays the test corp,
// under an app ID unique to the test.
func newWeComTestHandler(t *testing.T) (*Handler, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	h := &Handler{AppID: "wx-" + t.Name(), AppSecret: testSecret, now: clk.now, WeCom: WeCom{
		CorpID: testCorpID,
		Agents: []WeComAgent{{AgentID: testAgentID, Secret: testAgentSecret}, {AgentID: testAgent2ID, Secret: testAgent2Secret}},
	}}
	provision(t, h)
	return h, clk
}

// wecomAnswer is any answer of the WeCom endpoints, success or error.
type wecomAnswer struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	Ticket      string `json:"ticket"`
	ExpiresIn   int    `json:"expires_in"`
	UserID      string `json:"userid"`
	OpenID      string `json:"openid"`
}

// wecomGet sends GET path?query to h and decodes the WeCom answer, which
// always comes with HTTP 200.
func wecomGet(t *testing.T, h *Handler, path string, query url.Values) wecomAnswer {
	t.Helper()
	target := path
	if query != nil {
		target += "?" + query.Encode()
	}
	rec := serve(t, h, http.MethodGet, target, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d %s", target, rec.Code, rec.Body.String())
	}
	return decode[wecomAnswer](t, rec)
}

// wecomToken fetches agent's token (secret is its secret).
func wecomToken(t *testing.T, h *Handler, secret string) string {
	t.Helper()
	a := wecomGet(t, h, pathWeComToken, url.Values{"corpid": {testCorpID}, "corpsecret": {secret}})
	if a.ErrCode != 0 || a.AccessToken == "" {
		t.Fatalf("gettoken: %+v", a)
	}
	return a.AccessToken
}

// corpTicket fetches the corp ticket with token, failing on an error.
func corpTicket(t *testing.T, h *Handler, token string) string {
	t.Helper()
	a := wecomGet(t, h, pathWeComCorpTicket, url.Values{"access_token": {token}})
	if a.ErrCode != 0 || a.Ticket == "" {
		t.Fatalf("get_jsapi_ticket: %+v", a)
	}
	return a.Ticket
}

// agentTicket fetches the agent_config ticket of token's agent.
func agentTicket(t *testing.T, h *Handler, token string) string {
	t.Helper()
	a := wecomGet(t, h, pathWeComAgentTicket, url.Values{"access_token": {token}, "type": {"agent_config"}})
	if a.ErrCode != 0 || a.Ticket == "" {
		t.Fatalf("ticket/get: %+v", a)
	}
	return a.Ticket
}
