package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// wecomVerifyPart is a wx.config or a wx.agentConfig as
// /sandbox/wecom/verify reads it. It takes the fields under the names the
// page gives them (appId for wx.config, corpid and agentid for
// wx.agentConfig) and under the names WeCom's bridge receives them
// (preVerifyJSAPI's verifyAppId, verifyTimestamp, verifyNonceStr,
// verifySignature), so that a bridge emulation can pass on what it was
// invoked with. Other fields (jsApiList, beta, debug, …) are ignored.
type wecomVerifyPart struct {
	// URL overrides the request's url for this part.
	URL       string     `json:"url"`
	AppID     string     `json:"appId"`
	CorpID    string     `json:"corpid"`
	AgentID   flexString `json:"agentid"`
	Timestamp flexString `json:"timestamp"`
	NonceStr  string     `json:"nonceStr"`
	Signature string     `json:"signature"`

	VerifyAppID     string     `json:"verifyAppId"`
	VerifyTimestamp flexString `json:"verifyTimestamp"`
	VerifyNonceStr  string     `json:"verifyNonceStr"`
	VerifySignature string     `json:"verifySignature"`
}

// wecomVerifyRequest is the body of POST /sandbox/wecom/verify: the URL
// the client checks (location.href without the fragment) and a wx.config,
// a wx.agentConfig, or both.
type wecomVerifyRequest struct {
	URL         string           `json:"url"`
	Config      *wecomVerifyPart `json:"config"`
	AgentConfig *wecomVerifyPart `json:"agentConfig"`
}

// wecomCheck is the verdict on one signature.
type wecomCheck struct {
	OK     bool   `json:"ok"`
	ErrMsg string `json:"errmsg,omitempty"`
	// Reason names the failure for tests: missing_url, fragment,
	// invalid_corpid, missing_agentid, invalid_agentid, no_ticket,
	// agent_ticket (a wx.config signed with an agent ticket), corp_ticket
	// (a wx.agentConfig signed with the corp ticket), other_agent_ticket,
	// official_account_ticket, invalid_signature.
	Reason string `json:"reason,omitempty"`
}

// wecomVerifyReply is the answer of /sandbox/wecom/verify: ok when every
// part given holds, errmsg naming the parts that do not, and each part's
// verdict.
type wecomVerifyReply struct {
	OK          bool        `json:"ok"`
	ErrMsg      string      `json:"errmsg,omitempty"`
	Config      *wecomCheck `json:"config,omitempty"`
	AgentConfig *wecomCheck `json:"agentConfig,omitempty"`
}

// serveWeComVerify checks a WeCom wx.config (against the corp ticket) and
// a wx.agentConfig (against its agent's agent_config ticket) the way
// WeCom's client does, and says precisely what is wrong, ticket mix-ups
// included. It never reveals a ticket. The stubs send it as a text/plain
// POST, which needs no CORS preflight.
func (h *Handler) serveWeComVerify(w http.ResponseWriter, r *http.Request) {
	if !requireMethod(w, r, http.MethodPost) {
		return
	}
	var req wecomVerifyRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil || json.Unmarshal(body, &req) != nil {
		writeControlError(w, http.StatusBadRequest, "malformed JSON body")
		return
	}
	if req.Config == nil && req.AgentConfig == nil {
		writeControlError(w, http.StatusBadRequest, "config or agentConfig is required")
		return
	}
	reply := wecomVerifyReply{OK: true}
	var failed []string
	if p := req.Config; p != nil {
		c := h.checkWeComConfig(*p, pick(p.URL, req.URL))
		reply.Config = &c
		if !c.OK {
			failed = append(failed, "config: "+c.ErrMsg)
		}
	}
	if p := req.AgentConfig; p != nil {
		c := h.checkWeComAgentConfig(*p, pick(p.URL, req.URL))
		reply.AgentConfig = &c
		if !c.OK {
			failed = append(failed, "agentConfig: "+c.ErrMsg)
		}
	}
	if len(failed) > 0 {
		reply.OK, reply.ErrMsg = false, strings.Join(failed, "; ")
	}
	writeJSON(w, http.StatusOK, reply)
}

// checkWeComConfig checks a WeCom wx.config: appId the corp ID, signed
// with the corp ticket.
func (h *Handler) checkWeComConfig(p wecomVerifyPart, url string) wecomCheck {
	if c, bad := h.checkWeComTarget(pick(p.AppID, p.VerifyAppID, p.CorpID), url); bad {
		return c
	}
	return h.checkWeComSignature("", url, string(pick(p.Timestamp, p.VerifyTimestamp)),
		pick(p.NonceStr, p.VerifyNonceStr), pick(p.Signature, p.VerifySignature))
}

// checkWeComAgentConfig checks a wx.agentConfig: corpid the corp ID,
// agentid one of its agents, signed with that agent's ticket.
func (h *Handler) checkWeComAgentConfig(p wecomVerifyPart, url string) wecomCheck {
	if c, bad := h.checkWeComTarget(pick(p.CorpID, p.AppID, p.VerifyAppID), url); bad {
		return c
	}
	agent := string(p.AgentID)
	switch {
	case agent == "":
		return wecomCheck{ErrMsg: "missing agentid", Reason: "missing_agentid"}
	case !h.isAgent(agent):
		return wecomCheck{ErrMsg: "invalid agentid: " + agent + " is not an agent of this corp", Reason: "invalid_agentid"}
	}
	return h.checkWeComSignature(agent, url, string(pick(p.Timestamp, p.VerifyTimestamp)),
		pick(p.NonceStr, p.VerifyNonceStr), pick(p.Signature, p.VerifySignature))
}

// checkWeComTarget checks the URL and the corp ID of a config, reporting
// true with the verdict when one is wrong.
func (h *Handler) checkWeComTarget(corp, url string) (wecomCheck, bool) {
	switch {
	case url == "":
		return wecomCheck{ErrMsg: verifyMissingURL, Reason: "missing_url"}, true
	case strings.Contains(url, "#"):
		return wecomCheck{ErrMsg: verifyFragment, Reason: "fragment"}, true
	case corp == h.AppID:
		return wecomCheck{ErrMsg: "invalid corpid: " + corp + " is the Official Account's app ID, not the corp ID",
			Reason: "invalid_corpid"}, true
	case corp != h.CorpID:
		return wecomCheck{ErrMsg: "invalid corpid", Reason: "invalid_corpid"}, true
	}
	return wecomCheck{}, false
}

// checkWeComSignature checks a signature made for url against the corp's
// valid tickets: agent is "" for a wx.config, which needs the corp ticket,
// and the agent ID for a wx.agentConfig, which needs that agent's ticket.
// A signature that holds with another of the sandbox's tickets is named
// for it: that is the classic bug of using one ticket for the other.
func (h *Handler) checkWeComSignature(agent, url, timestamp, nonce, signature string) wecomCheck {
	now := h.clock()
	signs := func(ticket string) bool {
		want := jsapiSignature(ticket, nonce, timestamp, url)
		return subtle.ConstantTimeCompare([]byte(signature), []byte(want)) == 1
	}
	need := "the corp ticket (get_jsapi_ticket)"
	if agent != "" {
		need = "the agent ticket of agent " + agent + " (ticket/get?type=agent_config)"
	}
	what := "wx.config"
	if agent != "" {
		what = "wx.agentConfig"
	}
	issued := false
	var other *wecomIssued
	for _, t := range h.state.wecomTickets(h.CorpID, now) {
		issued = issued || t.agent == agent
		if !signs(t.ticket) {
			continue
		}
		if t.agent == agent {
			return wecomCheck{OK: true}
		}
		other = &t
	}
	switch {
	case other != nil && other.agent == "":
		return wecomCheck{ErrMsg: "invalid signature: signed with the corp ticket (get_jsapi_ticket); " +
			what + " needs " + need, Reason: "corp_ticket"}
	case other != nil && agent == "":
		return wecomCheck{ErrMsg: "invalid signature: signed with the agent ticket of agent " + other.agent +
			" (ticket/get?type=agent_config); " + what + " needs " + need, Reason: "agent_ticket"}
	case other != nil:
		return wecomCheck{ErrMsg: "invalid signature: signed with the agent ticket of agent " + other.agent +
			", not of agent " + agent, Reason: "other_agent_ticket"}
	}
	for _, t := range h.state.validTickets(now) {
		if signs(t) {
			return wecomCheck{ErrMsg: "invalid signature: signed with the Official Account's jsapi ticket (ticket/getticket); " +
				what + " needs " + need, Reason: "official_account_ticket"}
		}
	}
	if !issued {
		return wecomCheck{ErrMsg: verifyNoTicket + ": no valid " + strings.TrimPrefix(need, "the "), Reason: "no_ticket"}
	}
	return wecomCheck{ErrMsg: verifyBadSignature, Reason: "invalid_signature"}
}
