package sandbox

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// maxBody bounds the JSON bodies the sandbox reads.
const maxBody = 64 << 10

// tokenReply is the answer of /cgi-bin/token and /cgi-bin/stable_token.
type tokenReply struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// ticketReply is the answer of /cgi-bin/ticket/getticket.
type ticketReply struct {
	ErrCode   int    `json:"errcode"`
	ErrMsg    string `json:"errmsg"`
	Ticket    string `json:"ticket"`
	ExpiresIn int    `json:"expires_in"`
}

// stableTokenRequest is the body of /cgi-bin/stable_token.
type stableTokenRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

// serveToken emulates GET /cgi-bin/token: every call issues a new token.
func (h *Handler) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeWeChatError(w, http.StatusOK, codeRequireGET)
		return
	}
	q := r.URL.Query()
	if code := h.checkApp(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); code != 0 {
		writeWeChatError(w, http.StatusOK, code)
		return
	}
	token := h.state.issueClassic(h.clock(), h.ttl())
	writeJSON(w, http.StatusOK, tokenReply{AccessToken: token, ExpiresIn: int(h.ttl() / time.Second)})
}

// serveStableToken emulates POST /cgi-bin/stable_token: the same token
// while it is valid, a new one on force_refresh or after expiry.
func (h *Handler) serveStableToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeWeChatError(w, http.StatusOK, codeRequirePOST)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var req stableTokenRequest
	if err != nil || json.Unmarshal(body, &req) != nil {
		writeWeChatError(w, http.StatusOK, codeDataFormat)
		return
	}
	if code := h.checkApp(req.GrantType, req.AppID, req.Secret); code != 0 {
		writeWeChatError(w, http.StatusOK, code)
		return
	}
	token, left := h.state.stableToken(h.clock(), h.ttl(), req.ForceRefresh)
	writeJSON(w, http.StatusOK, tokenReply{AccessToken: token, ExpiresIn: left})
}

// serveTicket emulates GET /cgi-bin/ticket/getticket: the same ticket
// while it is valid, a new one after expiry.
func (h *Handler) serveTicket(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeWeChatError(w, http.StatusOK, codeRequireGET)
		return
	}
	q := r.URL.Query()
	token := q.Get("access_token")
	if token == "" {
		writeWeChatError(w, http.StatusOK, codeTokenMissing)
		return
	}
	now := h.clock()
	if code := h.state.checkToken(token, now); code != 0 {
		writeWeChatError(w, http.StatusOK, code)
		return
	}
	if q.Get("type") != "jsapi" {
		writeWeChatError(w, http.StatusOK, codeInvalidArgs)
		return
	}
	ticket, left := h.state.ticket(now, h.ttl())
	h.journal.saveIfNew(h.state, ticket)
	writeJSON(w, http.StatusOK, ticketReply{ErrMsg: "ok", Ticket: ticket, ExpiresIn: left})
}

// checkApp checks the credentials of a token request and returns the
// WeChat error code for the first thing wrong, or 0.
func (h *Handler) checkApp(grantType, appID, secret string) int {
	switch {
	case grantType != "client_credential":
		return codeInvalidGrantType
	case appID == "":
		return codeAppIDMissing
	case appID != h.AppID:
		return codeInvalidAppID
	case secret == "":
		return codeSecretMissing
	case subtle.ConstantTimeCompare([]byte(secret), []byte(h.secret)) != 1:
		return codeInvalidSecret
	}
	return 0
}
