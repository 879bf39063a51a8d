package sandbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStallUntilClientLeaves: a stalled call answers nothing while the
// client waits, is counted, and ends when the client goes away.
func TestStallUntilClientLeaves(t *testing.T) {
	h, _ := newTestHandler(t)
	addFault(t, h, `{"endpoint":"stable_token","stall":"1h"}`)

	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, pathStableToken,
		strings.NewReader(stableBody(t, "client_credential", h.AppID, testSecret, false)))
	rec := httptest.NewRecorder()
	done := make(chan error, 1)
	go func() { done <- h.ServeHTTP(rec, req, nil) }()

	// The call is counted before it stalls: a test waits for this to know
	// the client is caught in the middle of the call.
	for statsOf(t, h)["stable_token"] != 1 {
		select {
		case err := <-done:
			t.Fatalf("the call returned before stalling: %v", err)
		default:
		}
	}
	select {
	case <-done:
		t.Fatal("the stalled call answered while the client waited")
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec.Body.Len() != 0 {
		t.Errorf("answered %q to a client that left", rec.Body.String())
	}
	// The fault was used up: the next call is answered.
	stableToken(t, h, false)
}

func TestStallThenAnswer(t *testing.T) {
	tests := []struct {
		name, fault string
		status      int
		body        string
	}{
		{"gateway timeout", `{"endpoint":"token","stall":"1ms"}`, http.StatusGatewayTimeout, "injected HTTP 504"},
		{"then errcode", `{"endpoint":"token","stall":"1ms","errcode":45009}`, http.StatusOK, `"errcode":45009`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newTestHandler(t)
			addFault(t, h, tc.fault)
			rec := serve(t, h, http.MethodGet, tokenURL("client_credential", h.AppID, testSecret), "")
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("got %d %q, want %d with %q", rec.Code, rec.Body.String(), tc.status, tc.body)
			}
		})
	}
}

func TestStallRefusedNegative(t *testing.T) {
	h, _ := newTestHandler(t)
	rec := control(t, h, pathFault, `{"endpoint":"token","stall":"-1s"}`)
	if got := decode[controlReply](t, rec); rec.Code != http.StatusBadRequest || got.ErrMsg != "stall must not be negative" {
		t.Errorf("got %d %+v", rec.Code, got)
	}
}
