package sandbox

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
)

// fault is a failure queued through POST /sandbox/fault: the next Times
// calls to Endpoint answer ErrCode as WeChat would, or HTTPStatus with a
// short text body when it is set. Its JSON form is the request body.
type fault struct {
	Endpoint   endpoint `json:"endpoint"`
	ErrCode    int      `json:"errcode"`
	HTTPStatus int      `json:"http_status"`
	Times      int      `json:"times"`
	// Stall holds the call that long before answering (see stall.go).
	Stall caddy.Duration `json:"stall"`
}

// check validates f, defaulting Times to 1, and returns what is wrong.
func (f *fault) check() string {
	switch f.Endpoint {
	case endpointToken, endpointStableToken, endpointTicket, endpointAny:
	case endpointWeComToken, endpointWeComCorpTicket, endpointWeComAgentTicket, endpointWeComUserInfo: // wecom.go
	default:
		return `endpoint must be one of "token", "stable_token", "getticket", "*", ` +
			`or WeCom's "gettoken", "get_jsapi_ticket", "agent_ticket", "getuserinfo"`
	}
	switch {
	case f.Times < 0:
		return "times must not be negative"
	case f.HTTPStatus != 0 && (f.HTTPStatus < 200 || f.HTTPStatus > 599):
		return "http_status must be between 200 and 599"
	case f.Stall < 0:
		return "stall must not be negative"
	case f.HTTPStatus == 0 && f.ErrCode == 0 && f.Stall == 0:
		return "errcode or http_status is required (or a stall)"
	}
	if f.Times == 0 {
		f.Times = 1
	}
	return ""
}

// answer writes the failure f stands for.
func (f fault) answer(w http.ResponseWriter, r *http.Request) {
	f, ok := f.stallFirst(r)
	if !ok {
		return
	}
	if f.HTTPStatus != 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(f.HTTPStatus)
		_, _ = fmt.Fprintf(w, "wechat_sandbox: injected HTTP %d\n", f.HTTPStatus)
		return
	}
	writeWeChatError(w, http.StatusOK, f.ErrCode)
}

// addFault queues f behind the faults already pending.
func (s *state) addFault(f fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// takeFault consumes one use of the oldest pending fault that applies to
// ep, if any.
func (s *state) takeFault(ep endpoint) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.Endpoint != ep && f.Endpoint != endpointAny {
			continue
		}
		taken := *f
		f.Times--
		if f.Times == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return taken, true
	}
	return fault{}, false
}

// serveFault handles POST /sandbox/fault.
func (h *Handler) serveFault(w http.ResponseWriter, r *http.Request) {
	var f fault
	if !readControl(w, r, &f) {
		return
	}
	if msg := f.check(); msg != "" {
		writeControlError(w, http.StatusBadRequest, msg)
		return
	}
	h.state.addFault(f)
	writeJSON(w, http.StatusOK, controlReply{OK: true})
}
