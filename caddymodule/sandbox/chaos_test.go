package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// fixRand makes every chaos roll return v for the rest of the test.
func fixRand(t *testing.T, v float64) {
	t.Helper()
	prev := chaosRand
	chaosRand = func() float64 { return v }
	t.Cleanup(func() { chaosRand = prev })
}

// setChaosBody posts body to /sandbox/chaos and returns the status.
func setChaosBody(t *testing.T, h *Handler, body string) int {
	t.Helper()
	return control(t, h, pathChaos, body).Code
}

func TestChaosAnswers(t *testing.T) {
	tests := []struct {
		name    string
		setting string
		roll    float64
		// wantCodes are the errcodes of three consecutive ticket calls
		// (0: a ticket); wantStatus is their HTTP status; reset means the
		// connection is closed without an answer.
		wantStatus int
		wantCodes  []int
		reset      bool
	}{
		{name: "cleared", setting: `{}`, roll: 0, wantStatus: 200, wantCodes: []int{0, 0, 0}},
		{name: "errors below the roll pass", setting: `{"error_rate":0.5}`, roll: 0.6, wantStatus: 200, wantCodes: []int{0, 0, 0}},
		{name: "default code", setting: `{"error_rate":0.5}`, roll: 0.4, wantStatus: 200, wantCodes: []int{-1, -1, -1}},
		{name: "codes in turn", setting: `{"error_rate":1,"error_codes":[-1,45009]}`, roll: 0.9, wantStatus: 200, wantCodes: []int{-1, 45009, -1}},
		{name: "5xx", setting: `{"http_5xx_rate":1}`, roll: 0.5, wantStatus: 502},
		{name: "reset", setting: `{"reset_rate":0.5}`, roll: 0.1, reset: true},
		{name: "outage", setting: `{"outage":true}`, roll: 0.99, reset: true},
		{name: "outage wins over errors", setting: `{"outage":true,"error_rate":1}`, roll: 0, reset: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(t)
			token := stableToken(t, h, false).AccessToken
			// before the server, so that its Cleanup runs after srv.Close
			fixRand(t, tt.roll)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_ = h.ServeHTTP(w, r, nil)
			}))
			t.Cleanup(srv.Close)
			if code := setChaosBody(t, h, tt.setting); code != http.StatusOK {
				t.Fatalf("chaos: %d", code)
			}
			target := srv.URL + pathTicket + "?" + url.Values{"access_token": {token}, "type": {"jsapi"}}.Encode()
			for i := range 3 {
				resp, err := srv.Client().Get(target)
				if tt.reset {
					if err == nil {
						resp.Body.Close()
						t.Fatalf("call %d: got %d, want the connection closed", i, resp.StatusCode)
					}
					continue
				}
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.wantStatus {
					t.Fatalf("call %d: status %d, want %d", i, resp.StatusCode, tt.wantStatus)
				}
				if tt.wantCodes == nil {
					continue
				}
				var r ticketReply
				if err := json.Unmarshal(body, &r); err != nil {
					t.Fatalf("call %d: %q: %v", i, body, err)
				}
				if r.ErrCode != tt.wantCodes[i] {
					t.Errorf("call %d: errcode %d, want %d", i, r.ErrCode, tt.wantCodes[i])
				}
			}
			// every call is counted, faulted or not
			if got := h.state.snapshot().GetTicket; got != 3 {
				t.Errorf("getticket counted %d times, want 3", got)
			}
		})
	}
}

func TestChaosDelay(t *testing.T) {
	h, _ := newTestHandler(t)
	fixRand(t, 0.5)
	if code := setChaosBody(t, h, `{"latency":"3s","jitter":"1s"}`); code != http.StatusOK {
		t.Fatalf("chaos: %d", code)
	}
	if d := decide(h.state).delay; d != 3500*time.Millisecond {
		t.Errorf("delay %v, want 3.5s", d)
	}
	setChaosBody(t, h, `{}`)
	if d := decide(h.state).delay; d != 0 {
		t.Errorf("delay %v after clearing, want 0", d)
	}
}

func TestChaosKeepsFaultQueue(t *testing.T) {
	h, _ := newTestHandler(t)
	token := stableToken(t, h, false).AccessToken
	setChaosBody(t, h, `{"error_rate":0}`)
	if rec := control(t, h, pathFault, `{"endpoint":"getticket","errcode":45011}`); rec.Code != http.StatusOK {
		t.Fatalf("fault: %d", rec.Code)
	}
	if got := getTicket(t, h, token).ErrCode; got != codeMinuteQuota {
		t.Errorf("queued fault under chaos: errcode %d, want %d", got, codeMinuteQuota)
	}
	if got := getTicket(t, h, token).ErrCode; got != 0 {
		t.Errorf("after the queued fault: errcode %d", got)
	}
}

func TestChaosRefusesBadRequests(t *testing.T) {
	tests := []struct {
		name, method, body string
		want               int
		msg                string
	}{
		{"GET", http.MethodGet, "", http.StatusMethodNotAllowed, "method"},
		{"not JSON", http.MethodPost, "{", http.StatusBadRequest, "malformed"},
		{"unknown field", http.MethodPost, `{"eror_rate":1}`, http.StatusBadRequest, "unknown field"},
		{"rate above 1", http.MethodPost, `{"error_rate":1.5}`, http.StatusBadRequest, "between 0 and 1"},
		{"negative rate", http.MethodPost, `{"reset_rate":-0.1}`, http.StatusBadRequest, "between 0 and 1"},
		{"negative latency", http.MethodPost, `{"latency":"-1s"}`, http.StatusBadRequest, "negative"},
		{"success code", http.MethodPost, `{"error_rate":1,"error_codes":[0]}`, http.StatusBadRequest, "must not contain 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(t)
			rec := serveCT(t, h, tt.method, pathChaos, "application/json", tt.body)
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.msg) {
				t.Errorf("got %d %s, want %d with %q", rec.Code, rec.Body, tt.want, tt.msg)
			}
			// a refused setting changes nothing
			if d := decide(h.state); d != (chaosVerdict{}) {
				t.Errorf("refused setting applied: %+v", d)
			}
		})
	}
}
