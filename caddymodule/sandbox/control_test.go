package sandbox

import (
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"
)

// statsOf fetches /sandbox/stats as a map, so that the key names are checked
// too.
func statsOf(t *testing.T, h *Handler) map[string]int64 {
	t.Helper()
	rec := serve(t, h, http.MethodGet, pathStats, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("stats: status %d", rec.Code)
	}
	return decode[map[string]int64](t, rec)
}

// addFault posts body to /sandbox/fault and fails unless it is accepted.
func addFault(t *testing.T, h *Handler, body string) {
	t.Helper()
	rec := control(t, h, pathFault, body)
	if got := decode[controlReply](t, rec); rec.Code != http.StatusOK || !got.OK {
		t.Fatalf("fault %s: %d %+v", body, rec.Code, got)
	}
}

func TestStats(t *testing.T) {
	h, _ := newTestHandler(t)
	want := map[string]int64{"token": 0, "stable_token": 0, "getticket": 0, "verify": 0, "pay_order": 0, "pay_verify": 0, "pay_query": 0, "pay_refund": 0, "pay_certificates": 0, "notify": 0}
	if got := statsOf(t, h); !maps.Equal(got, want) {
		t.Fatalf("initial stats %v, want %v", got, want)
	}

	token := classicToken(t, h).AccessToken
	serve(t, h, http.MethodGet, tokenURL("client_credential", h.AppID, "wrong"), "") // failed: counted
	stableToken(t, h, false)
	getTicket(t, h, token)
	serve(t, h, http.MethodPost, pathTicket, "") // wrong method: counted
	addFault(t, h, `{"endpoint":"getticket","errcode":-1}`)
	getTicket(t, h, token) // faulted: counted
	serve(t, h, http.MethodGet, pathVerify, "")
	serve(t, h, http.MethodGet, "/unknown", "") // not an endpoint
	statsOf(t, h)                               // stats do not count themselves

	want = map[string]int64{"token": 2, "stable_token": 1, "getticket": 3, "verify": 1, "pay_order": 0, "pay_verify": 0, "pay_query": 0, "pay_refund": 0, "pay_certificates": 0, "notify": 0}
	if got := statsOf(t, h); !maps.Equal(got, want) {
		t.Fatalf("stats %v, want %v", got, want)
	}
	if rec := serve(t, h, http.MethodPost, pathStats, ""); rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET" {
		t.Fatalf("POST stats: %d Allow=%q", rec.Code, rec.Header().Get("Allow"))
	}
}

func TestFaultErrcode(t *testing.T) {
	h, _ := newTestHandler(t)
	addFault(t, h, `{"endpoint":"token","errcode":45009,"times":2}`)
	for i := range 2 {
		rec := serve(t, h, http.MethodGet, tokenURL("client_credential", h.AppID, testSecret), "")
		e := decode[wechatError](t, rec)
		if rec.Code != http.StatusOK || e.ErrCode != 45009 ||
			!strings.HasPrefix(e.ErrMsg, "reach max api daily quota limit rid: ") || !ridRE.MatchString(e.ErrMsg) {
			t.Fatalf("call %d: %d %+v", i, rec.Code, e)
		}
	}
	// Spent: the next call succeeds, and other endpoints were never affected.
	classicToken(t, h)
	stableToken(t, h, false)
}

func TestFaultHTTPStatus(t *testing.T) {
	h, _ := newTestHandler(t)
	addFault(t, h, `{"endpoint":"stable_token","http_status":502,"errcode":40001}`)
	rec := serve(t, h, http.MethodPost, pathStableToken, stableBody(t, "client_credential", h.AppID, testSecret, false))
	if rec.Code != http.StatusBadGateway || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") ||
		!strings.Contains(rec.Body.String(), "502") {
		t.Fatalf("got %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	stableToken(t, h, false) // times defaults to 1
}

func TestFaultOrderAndWildcard(t *testing.T) {
	h, _ := newTestHandler(t)
	token := classicToken(t, h).AccessToken
	addFault(t, h, `{"endpoint":"getticket","errcode":40001}`)
	addFault(t, h, `{"endpoint":"*","errcode":12345,"times":2}`)

	if got := getTicket(t, h, token); got.ErrCode != 40001 {
		t.Fatalf("first getticket: errcode %d, want the older fault 40001", got.ErrCode)
	}
	rec := serve(t, h, http.MethodPost, pathStableToken, stableBody(t, "client_credential", h.AppID, testSecret, false))
	if e := decode[wechatError](t, rec); e.ErrCode != 12345 || !strings.HasPrefix(e.ErrMsg, "injected fault rid: ") {
		t.Fatalf("stable_token under '*': %+v", e)
	}
	if got := getTicket(t, h, token); got.ErrCode != 12345 {
		t.Fatalf("second getticket: errcode %d, want 12345", got.ErrCode)
	}
	if got := getTicket(t, h, token); got.ErrCode != 0 {
		t.Fatalf("after the faults: errcode %d", got.ErrCode)
	}
	// Verification is not an emulated WeChat call; faults never touch it.
	addFault(t, h, `{"endpoint":"*","http_status":500}`)
	if rec := serve(t, h, http.MethodGet, pathVerify, ""); rec.Code != http.StatusOK {
		t.Fatalf("verify under a '*' fault: status %d", rec.Code)
	}
}

func TestFaultBadRequests(t *testing.T) {
	h, _ := newTestHandler(t)
	tests := []struct {
		name, method, body string
		status             int
		msg                string
	}{
		{"GET", http.MethodGet, "", http.StatusMethodNotAllowed, "method not allowed"},
		{"PUT", http.MethodPut, `{"endpoint":"token","errcode":1}`, http.StatusMethodNotAllowed, "method not allowed"},
		{"empty body", http.MethodPost, ``, http.StatusBadRequest, "malformed JSON body"},
		{"malformed JSON", http.MethodPost, `{"endpoint":`, http.StatusBadRequest, "malformed JSON body"},
		{"unknown field", http.MethodPost, `{"endpoint":"token","status":502}`, http.StatusBadRequest, "malformed JSON body"},
		{"unknown endpoint", http.MethodPost, `{"endpoint":"verify","errcode":1}`, http.StatusBadRequest, "endpoint must be one of"},
		{"no endpoint", http.MethodPost, `{"errcode":1}`, http.StatusBadRequest, "endpoint must be one of"},
		{"negative times", http.MethodPost, `{"endpoint":"token","errcode":1,"times":-1}`, http.StatusBadRequest, "times must not be negative"},
		{"status too low", http.MethodPost, `{"endpoint":"token","http_status":199}`, http.StatusBadRequest, "http_status must be between"},
		{"status too high", http.MethodPost, `{"endpoint":"token","http_status":600}`, http.StatusBadRequest, "http_status must be between"},
		{"nothing to inject", http.MethodPost, `{"endpoint":"token","times":3}`, http.StatusBadRequest, "errcode or http_status is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serveCT(t, h, tc.method, pathFault, "application/json", tc.body)
			got := decode[controlReply](t, rec)
			if rec.Code != tc.status || got.OK || !strings.HasPrefix(got.ErrMsg, tc.msg) {
				t.Fatalf("got %d %+v, want %d %q", rec.Code, got, tc.status, tc.msg)
			}
		})
	}
	// None of them was queued.
	classicToken(t, h)
}

func TestReset(t *testing.T) {
	h, clk := newTestHandler(t)
	token := classicToken(t, h).AccessToken
	stable := stableToken(t, h, false).AccessToken
	h.state.setTicket(vectorTicket, clk.now().Add(time.Hour))
	addFault(t, h, `{"endpoint":"token","errcode":-1}`)

	if rec := serve(t, h, http.MethodGet, pathReset, ""); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET reset: status %d", rec.Code)
	}
	rec := control(t, h, pathReset, "{}")
	if got := decode[controlReply](t, rec); rec.Code != http.StatusOK || !got.OK {
		t.Fatalf("reset: %d %+v", rec.Code, got)
	}

	want := map[string]int64{"token": 0, "stable_token": 0, "getticket": 0, "verify": 0, "pay_order": 0, "pay_verify": 0, "pay_query": 0, "pay_refund": 0, "pay_certificates": 0, "notify": 0}
	if got := statsOf(t, h); !maps.Equal(got, want) {
		t.Fatalf("stats after reset %v, want zeros", got)
	}
	if got := verifyPOST(t, h, vectorFields(h.AppID)); got.ErrMsg != verifyNoTicket {
		t.Fatalf("verify after reset: %+v, want %q", got, verifyNoTicket)
	}
	for name, tok := range map[string]string{"classic": token, "stable": stable} {
		if got := tokenCode(t, h, tok); got != codeInvalidCredential {
			t.Errorf("%s token after reset: errcode %d, want %d", name, got, codeInvalidCredential)
		}
	}
	classicToken(t, h) // the fault is gone
	if got := stableToken(t, h, false).AccessToken; got == stable {
		t.Fatal("stable token survived the reset")
	}
}
