package sandbox

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// WeChat's published JS-SDK signature example (wechat-api.md).
const (
	vectorTicket    = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
	vectorNonce     = "Wm3WZYTPz0wzccnW"
	vectorTimestamp = 1414587457
	vectorURL       = "http://mp.weixin.qq.com?params=value"
	vectorSignature = "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
)

// verifyPOST posts fields as JSON to /sandbox/verify.
func verifyPOST(t *testing.T, h *Handler, fields map[string]any) controlReply {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	rec := serve(t, h, http.MethodPost, pathVerify, string(b))
	if rec.Code != http.StatusOK {
		t.Fatalf("verify: status %d %s", rec.Code, rec.Body.String())
	}
	return decode[controlReply](t, rec)
}

// vectorFields is the official example as a wx.config object.
func vectorFields(appID string) map[string]any {
	return map[string]any{
		"debug":     false,
		"appId":     appID,
		"timestamp": vectorTimestamp,
		"nonceStr":  vectorNonce,
		"signature": vectorSignature,
		"url":       vectorURL,
		"jsApiList": []string{"chooseImage"},
	}
}

func TestVerifyOfficialVector(t *testing.T) {
	h, clk := newTestHandler(t)
	h.state.setTicket(vectorTicket, clk.now().Add(time.Hour))

	with := func(k string, v any) map[string]any {
		f := vectorFields(h.AppID)
		if v == nil {
			delete(f, k)
		} else {
			f[k] = v
		}
		return f
	}
	tests := []struct {
		name    string
		fields  map[string]any
		wantMsg string // "" means ok
	}{
		{"number timestamp", vectorFields(h.AppID), ""},
		{"string timestamp", with("timestamp", strconv.Itoa(vectorTimestamp)), ""},
		{"tampered url", with("url", vectorURL+"&x=1"), verifyBadSignature},
		{"url with trailing slash", with("url", "http://mp.weixin.qq.com/?params=value"), verifyBadSignature},
		{"tampered nonce", with("nonceStr", "Wm3WZYTPz0wzccnX"), verifyBadSignature},
		{"tampered timestamp", with("timestamp", vectorTimestamp+1), verifyBadSignature},
		{"milliseconds timestamp", with("timestamp", int64(vectorTimestamp)*1000), verifyBadSignature},
		{"tampered signature", with("signature", "1f9de62fce790f9a083d5c99e95740ceb90c27ed"), verifyBadSignature},
		{"uppercase signature", with("signature", strings.ToUpper(vectorSignature)), verifyBadSignature},
		{"no signature", with("signature", nil), verifyBadSignature},
		{"wrong appId", with("appId", "wx-other"), verifyBadAppID},
		{"no url", with("url", nil), verifyMissingURL},
		{"url with fragment", with("url", vectorURL+"#top"), verifyFragment},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := verifyPOST(t, h, tc.fields)
			if got.OK != (tc.wantMsg == "") || got.ErrMsg != tc.wantMsg {
				t.Fatalf("got %+v, want ok=%v errmsg %q", got, tc.wantMsg == "", tc.wantMsg)
			}
		})
	}
}

func TestVerifyGET(t *testing.T) {
	h, clk := newTestHandler(t)
	h.state.setTicket(vectorTicket, clk.now().Add(time.Hour))
	q := url.Values{
		"appId":     {h.AppID},
		"timestamp": {strconv.Itoa(vectorTimestamp)},
		"nonceStr":  {vectorNonce},
		"signature": {vectorSignature},
		"url":       {vectorURL},
	}
	if got := decode[controlReply](t, serve(t, h, http.MethodGet, pathVerify+"?"+q.Encode(), "")); !got.OK {
		t.Fatalf("GET verify of the official vector: %+v", got)
	}
	q.Set("nonceStr", "other")
	if got := decode[controlReply](t, serve(t, h, http.MethodGet, pathVerify+"?"+q.Encode(), "")); got.OK || got.ErrMsg != verifyBadSignature {
		t.Fatalf("GET verify with a tampered nonce: %+v", got)
	}
}

// TestVerifyIssuedTicket signs with a ticket obtained through the API,
// using this test's own SHA-1 code, on a URL with a port, a query and
// non-ASCII bytes.
func TestVerifyIssuedTicket(t *testing.T) {
	h, _ := newTestHandler(t)
	ticket := getTicket(t, h, stableToken(t, h, false).AccessToken).Ticket
	pageURL := "https://shop.example.com:8443/商品/列表?a=1&b=%E4%B8%AD"
	nonce, ts := "abcDEF123", "1700000000"
	sig := fmt.Sprintf("%x", sha1.Sum([]byte("jsapi_ticket="+ticket+"&noncestr="+nonce+"&timestamp="+ts+"&url="+pageURL)))

	rec := serve(t, h, http.MethodPost, pathVerify, mustJSON(t, map[string]any{
		"appId": h.AppID, "timestamp": json.Number(ts), "nonceStr": nonce, "signature": sig, "url": pageURL,
	}))
	if got := decode[controlReply](t, rec); !got.OK {
		t.Fatalf("verify: %+v", got)
	}

	rec = serve(t, h, http.MethodPost, pathVerify, mustJSON(t, map[string]any{
		"appId": h.AppID, "timestamp": ts, "nonceStr": nonce, "signature": sig, "url": pageURL + "&c=2",
	}))
	got := decode[controlReply](t, rec)
	if got.OK || got.ErrMsg != verifyBadSignature {
		t.Fatalf("tampered url: %+v", got)
	}
	if strings.Contains(rec.Body.String(), ticket) {
		t.Fatal("verify revealed the ticket")
	}
}

func TestVerifyNoTicket(t *testing.T) {
	h, clk := newTestHandler(t)
	if got := verifyPOST(t, h, vectorFields(h.AppID)); got.OK || got.ErrMsg != verifyNoTicket {
		t.Fatalf("before any ticket: %+v", got)
	}
	h.state.setTicket(vectorTicket, clk.now().Add(time.Minute))
	if got := verifyPOST(t, h, vectorFields(h.AppID)); !got.OK {
		t.Fatalf("with the ticket: %+v", got)
	}
	clk.advance(time.Minute)
	if got := verifyPOST(t, h, vectorFields(h.AppID)); got.OK || got.ErrMsg != verifyNoTicket {
		t.Fatalf("after the ticket expired: %+v", got)
	}
}

func TestVerifyBadRequests(t *testing.T) {
	h, _ := newTestHandler(t)
	tests := []struct {
		name, method, body string
		status             int
	}{
		{"malformed JSON", http.MethodPost, `{"appId":`, http.StatusBadRequest},
		{"timestamp object", http.MethodPost, `{"timestamp":{}}`, http.StatusBadRequest},
		{"PUT", http.MethodPut, `{}`, http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, h, tc.method, pathVerify, tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if got := decode[controlReply](t, rec); got.OK || got.ErrMsg == "" {
				t.Fatalf("answer %+v, want a refusal with errmsg", got)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
