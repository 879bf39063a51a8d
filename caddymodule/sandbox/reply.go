package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strings"
)

// WeChat error codes the sandbox answers with.
const (
	codeSystemBusy        = -1
	codeInvalidCredential = 40001
	codeInvalidGrantType  = 40002
	codeInvalidAppID      = 40013
	codeInvalidToken      = 40014
	codeInvalidURL        = 40066
	codeInvalidArgs       = 40097
	codeInvalidSecret     = 40125
	codeTokenMissing      = 41001
	codeAppIDMissing      = 41002
	codeSecretMissing     = 41004
	codeTokenExpired      = 42001
	codeRequireGET        = 43001
	codeRequirePOST       = 43002
	codeDailyQuota        = 45009
	codeMinuteQuota       = 45011
	codeDataFormat        = 47001
)

// errmsgs holds WeChat's message for each code, before the " rid: …" it
// appends. Injected faults use it too, so that a test injecting 45009 sees
// what WeChat would send.
var errmsgs = map[int]string{
	codeSystemBusy:        "system error",
	codeInvalidCredential: "invalid credential, access_token is invalid or not latest",
	codeInvalidGrantType:  "invalid grant_type",
	codeInvalidAppID:      "invalid appid",
	codeInvalidToken:      "invalid access_token",
	codeInvalidURL:        "invalid url",
	codeInvalidArgs:       "invalid args",
	codeInvalidSecret:     "invalid appsecret",
	codeTokenMissing:      "access_token missing",
	codeAppIDMissing:      "appid missing",
	codeSecretMissing:     "appsecret missing",
	codeTokenExpired:      "access_token expired",
	codeRequireGET:        "require GET method",
	codeRequirePOST:       "require POST method",
	codeDailyQuota:        "reach max api daily quota limit",
	codeMinuteQuota:       "api minute-quota reach limit  mustslower  retry next minute",
	codeDataFormat:        "data format error",
}

// wechatError is WeChat's error body.
type wechatError struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// newWeChatError builds the body WeChat sends for code, with a fresh
// request ID as WeChat appends to every error message.
func newWeChatError(code int) wechatError {
	msg, ok := errmsgs[code]
	if !ok {
		msg = "injected fault"
	}
	return wechatError{ErrCode: code, ErrMsg: msg + " rid: " + newRID()}
}

// writeWeChatError answers with WeChat's error body for code. WeChat
// itself always uses status 200; the sandbox does too except for unknown
// paths.
func writeWeChatError(w http.ResponseWriter, status, code int) {
	writeJSON(w, status, newWeChatError(code))
}

// newRID returns a request ID shaped like WeChat's ("65f1c2a3-1b2c3d4e-5f6a7b8c").
// It identifies nothing, so math/rand is enough.
func newRID() string {
	return fmt.Sprintf("%08x-%08x-%08x", rand.Uint32(), rand.Uint32(), rand.Uint32())
}

// writeJSON answers with v as JSON. Credentials are never cached by
// anything between the sandbox and its client.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// An encoding error can only come from writing to a client that has
	// gone; there is nobody left to tell.
	_ = json.NewEncoder(w).Encode(v)
}

// controlReply is the answer of the /sandbox/* endpoints.
type controlReply struct {
	OK     bool   `json:"ok"`
	ErrMsg string `json:"errmsg,omitempty"`
}

// writeControlError answers a malformed /sandbox/* request.
func writeControlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, controlReply{ErrMsg: msg})
}

// requireMethod answers 405 and returns false unless r uses one of
// methods. It is for the /sandbox/* endpoints; the WeChat ones answer
// 43001/43002 as WeChat does.
func requireMethod(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeControlError(w, http.StatusMethodNotAllowed, "method not allowed")
	return false
}

// readControl admits a control call (/sandbox/fault, /sandbox/chaos,
// /sandbox/reset, /sandbox/rotate): POST only (405 with Allow: POST
// otherwise), with Content-Type application/json (415 otherwise), and a
// JSON body that decodes into v (400 otherwise; {} for the calls that take
// no option). It reports whether the call may go on; otherwise it has
// answered.
//
// The Content-Type rule is what keeps web pages out: a page can send a
// form or a text/plain body anywhere without asking, but a JSON POST to
// another origin needs a CORS preflight, which the sandbox never grants.
func readControl(w http.ResponseWriter, r *http.Request, v any) bool {
	if !requireMethod(w, r, http.MethodPost) {
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeControlError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	return decodeControl(w, r, v)
}

// decodeControl reads a control call's JSON body into v, refusing unknown
// fields (a misspelt option would otherwise leave the sandbox healthy, or
// queue another fault than the test meant). On failure it has answered 400.
func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeControlError(w, http.StatusBadRequest, "malformed JSON body")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeControlError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return false
	}
	return true
}
