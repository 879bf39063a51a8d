package sandbox

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestRotateInvalidatesWithoutNotice(t *testing.T) {
	h, _ := newTestHandler(t)
	token := stableToken(t, h, false).AccessToken
	ticket := getTicket(t, h, token).Ticket
	if rec := control(t, h, pathRotate, "{}"); rec.Code != http.StatusOK {
		t.Fatalf("rotate: %d %s", rec.Code, rec.Body)
	}
	// the old token is no longer the latest
	rec := serve(t, h, http.MethodGet, pathTicket+"?type=jsapi&access_token="+token, "")
	var e struct {
		ErrCode int `json:"errcode"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.ErrCode != 40001 {
		t.Errorf("old token after rotation: %s", rec.Body)
	}
	// a fresh token gets a new ticket
	fresh := stableToken(t, h, false).AccessToken
	if fresh == token {
		t.Error("stable_token hands out the rotated token")
	}
	if again := getTicket(t, h, fresh).Ticket; again == ticket {
		t.Error("the rotated ticket is handed out again")
	}
	if rec := serve(t, h, http.MethodGet, pathRotate, ""); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET rotate: %d", rec.Code)
	}
}
