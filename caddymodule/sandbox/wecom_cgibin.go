package sandbox

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// WeCom's error codes, where they differ from WeChat's (reply.go has the
// shared ones: 40013, 40014, 41001, 42001, 43001, 45009).
const (
	codeWeComInvalidSecret = 40001 // gettoken: corpsecret of no app
	codeWeComInvalidCode   = 40029
	codeWeComInvalidParam  = 40058
	codeWeComCorpIDMissing = 41002
	codeWeComSecretMissing = 41004
	codeWeComCodeMissing   = 41008
)

// wecomErrmsgs are WeCom's messages, before the hint it appends.
var wecomErrmsgs = map[int]string{
	codeWeComInvalidSecret: "invalid credential",
	codeInvalidAppID:       "invalid corpid",
	codeInvalidToken:       "invalid access_token",
	codeWeComInvalidCode:   "invalid code",
	codeWeComInvalidParam:  "invalid parameter",
	codeTokenMissing:       "access_token missing",
	codeWeComCorpIDMissing: "corpid missing",
	codeWeComSecretMissing: "corpsecret missing",
	codeWeComCodeMissing:   "code missing",
	codeTokenExpired:       "access_token expired",
	codeRequireGET:         "require GET method",
	codeDailyQuota:         "api freq out of limit",
}

// writeWeComError answers WeCom's error body for code, HTTP 200, with
// detail (what the sandbox can say more, or "") after the message and the
// hint and query link WeCom appends:
//
//	{"errcode":40013,"errmsg":"invalid corpid, hint: [1700000000_42_…], more info at https://open.work.weixin.qq.com/devtool/query?e=40013"}
func writeWeComError(w http.ResponseWriter, code int, detail string) {
	msg, ok := wecomErrmsgs[code]
	if !ok {
		msg = "injected fault"
	}
	if detail != "" {
		msg += ": " + detail
	}
	writeJSON(w, http.StatusOK, wechatError{ErrCode: code, ErrMsg: fmt.Sprintf(
		"%s, hint: [%d_%d_%016x%016x], more info at https://open.work.weixin.qq.com/devtool/query?e=%d",
		msg, time.Now().Unix(), rand.IntN(100), rand.Uint64(), rand.Uint64(), code)})
}

// wecomTokenReply is the answer of gettoken.
type wecomTokenReply struct {
	ErrCode     int    `json:"errcode"`
	ErrMsg      string `json:"errmsg"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// serveWeComToken emulates GET /cgi-bin/gettoken?corpid=ID&corpsecret=S:
// the app is the one whose secret is S; it gets the same token while that
// is valid (with the seconds it has left), a new one after it expires.
func (h *Handler) serveWeComToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeWeComError(w, codeRequireGET, "")
		return
	}
	q := r.URL.Query()
	agent := h.agentBySecret(q.Get("corpsecret"))
	switch {
	case q.Get("corpid") == "":
		writeWeComError(w, codeWeComCorpIDMissing, "")
	case q.Get("corpid") != h.CorpID:
		writeWeComError(w, codeInvalidAppID, "")
	case q.Get("corpsecret") == "":
		writeWeComError(w, codeWeComSecretMissing, "")
	case agent == "":
		writeWeComError(w, codeWeComInvalidSecret, "")
	default:
		token, left := h.state.wecomToken(h.CorpID, agent, h.clock(), h.ttl())
		writeJSON(w, http.StatusOK, wecomTokenReply{ErrMsg: "ok", AccessToken: token, ExpiresIn: left})
	}
}

// weComTokenOf checks the access_token of a WeCom call and returns its
// agent; otherwise it has answered the error and returns "".
func (h *Handler) weComTokenOf(w http.ResponseWriter, r *http.Request) string {
	if r.Method != http.MethodGet {
		writeWeComError(w, codeRequireGET, "")
		return ""
	}
	token := r.URL.Query().Get("access_token")
	if token == "" {
		writeWeComError(w, codeTokenMissing, "")
		return ""
	}
	agent, code := h.state.checkWeComToken(h.CorpID, token, h.clock())
	if code != 0 {
		writeWeComError(w, code, "")
		return ""
	}
	return agent
}

// serveWeComCorpTicket emulates GET /cgi-bin/get_jsapi_ticket: the corp's
// ticket, for wx.config, to any of its apps' tokens.
func (h *Handler) serveWeComCorpTicket(w http.ResponseWriter, r *http.Request) {
	if agent := h.weComTokenOf(w, r); agent != "" {
		h.answerWeComTicket(w, agent, false)
	}
}

// serveWeComAgentTicket emulates GET /cgi-bin/ticket/get?type=agent_config:
// the ticket of the token's app, for wx.agentConfig.
func (h *Handler) serveWeComAgentTicket(w http.ResponseWriter, r *http.Request) {
	agent := h.weComTokenOf(w, r)
	if agent == "" {
		return
	}
	if typ := r.URL.Query().Get("type"); typ != "agent_config" {
		writeWeComError(w, codeWeComInvalidParam, "type must be agent_config, got "+strconv.Quote(typ))
		return
	}
	h.answerWeComTicket(w, agent, true)
}

// answerWeComTicket answers a ticket call of agent, or 45009 beyond the
// hourly limits.
func (h *Handler) answerWeComTicket(w http.ResponseWriter, agent string, agentTicket bool) {
	ticket, left, code := h.state.wecomTicket(h.CorpID, agent, agentTicket, h.clock(), h.ttl())
	if code != 0 {
		writeWeComError(w, code, fmt.Sprintf("at most %d ticket fetches an hour per corp and %d per app",
			wecomCorpTicketQuota, wecomAgentTicketQuota))
		return
	}
	writeJSON(w, http.StatusOK, ticketReply{ErrMsg: "ok", Ticket: ticket, ExpiresIn: left})
}

// tokenAgent is the agent a call with token counts for, or "".
func (h *Handler) tokenAgent(token string) string { return h.state.tokenOwner(h.CorpID, token) }

// countWeCom records a call to a WeCom endpoint.
func (h *Handler) countWeCom(ep endpoint, agent string) { h.state.countWeCom(h.CorpID, ep, agent) }

// countWeComVerify records a call to /sandbox/wecom/verify.
func (h *Handler) countWeComVerify() { h.state.countWeComVerify(h.CorpID) }

// wecomStats returns the "wecom" object of /sandbox/stats, or nil when the
// sandbox plays no corp.
func (h *Handler) wecomStats() *wecomStats {
	if h.CorpID == "" {
		return nil
	}
	agents := make([]string, 0, len(h.Agents))
	for _, a := range h.Agents {
		agents = append(agents, a.AgentID)
	}
	return h.state.wecomSnapshot(h.CorpID, agents)
}
