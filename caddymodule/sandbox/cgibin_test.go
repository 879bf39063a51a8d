package sandbox

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

func TestClassicTokenShape(t *testing.T) {
	h, _ := newTestHandler(t)
	rec := serve(t, h, http.MethodGet, tokenURL("client_credential", h.AppID, testSecret), "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	r := decode[tokenReply](t, rec)
	if len(r.AccessToken) < 100 || !credentialRE.MatchString(r.AccessToken) {
		t.Errorf("access_token %q: want at least 100 chars of [A-Za-z0-9_-]", r.AccessToken)
	}
	if r.ExpiresIn != 7200 {
		t.Errorf("expires_in = %d, want 7200", r.ExpiresIn)
	}
}

// TestClassicTokenRotation checks that each call issues a new token and
// that the one it replaces works for 5 more minutes, as WeChat's does.
func TestClassicTokenRotation(t *testing.T) {
	h, clk := newTestHandler(t)
	a := classicToken(t, h).AccessToken
	clk.advance(time.Minute)
	b := classicToken(t, h).AccessToken
	if a == b {
		t.Fatal("second call returned the same token")
	}
	steps := []struct {
		advance time.Duration
		token   string
		want    int
	}{
		{0, a, 0},
		{5*time.Minute - time.Second, a, 0}, // last second of the grace
		{time.Second, a, codeTokenExpired},  // 5 min after b was issued
		{0, b, 0},
		{2*time.Hour - 5*time.Minute - time.Second, b, 0},
		{time.Second, b, codeTokenExpired}, // b's own expiry
	}
	for i, s := range steps {
		clk.advance(s.advance)
		if got := tokenCode(t, h, s.token); got != s.want {
			t.Errorf("step %d: errcode %d, want %d", i, got, s.want)
		}
	}
}

// TestClassicGraceCappedByExpiry checks that the grace never extends a
// token beyond its own expiry.
func TestClassicGraceCappedByExpiry(t *testing.T) {
	h, clk := newTestHandler(t)
	h.TokenTTL = caddy.Duration(3 * time.Minute)
	a := classicToken(t, h)
	if a.ExpiresIn != 180 {
		t.Fatalf("expires_in = %d, want 180", a.ExpiresIn)
	}
	clk.advance(time.Minute)
	classicToken(t, h)
	clk.advance(2*time.Minute - time.Second)
	if got := tokenCode(t, h, a.AccessToken); got != 0 {
		t.Fatalf("before its expiry: errcode %d", got)
	}
	clk.advance(time.Second)
	if got := tokenCode(t, h, a.AccessToken); got != codeTokenExpired {
		t.Fatalf("at its own expiry (grace would end later): errcode %d, want %d", got, codeTokenExpired)
	}
}

func TestStableToken(t *testing.T) {
	h, clk := newTestHandler(t)
	first := stableToken(t, h, false)
	if first.ExpiresIn != 7200 || len(first.AccessToken) < 100 || !credentialRE.MatchString(first.AccessToken) {
		t.Fatalf("first stable token: %+v", first)
	}

	clk.advance(100 * time.Second)
	again := stableToken(t, h, false)
	if again.AccessToken != first.AccessToken || again.ExpiresIn != 7100 {
		t.Fatalf("second call: same=%v expires_in=%d, want same token and 7100",
			again.AccessToken == first.AccessToken, again.ExpiresIn)
	}

	// Classic tokens are separate: issuing one neither returns nor
	// supersedes the stable token.
	classic := classicToken(t, h)
	if classic.AccessToken == first.AccessToken {
		t.Fatal("classic token equals the stable token")
	}
	clk.advance(6 * time.Minute)
	if got := tokenCode(t, h, first.AccessToken); got != 0 {
		t.Fatalf("stable token after a classic call: errcode %d", got)
	}
	if got := stableToken(t, h, false).AccessToken; got != first.AccessToken {
		t.Fatal("a classic call rotated the stable token")
	}

	// force_refresh issues a new token; the old one keeps 5 minutes.
	forced := stableToken(t, h, true)
	if forced.AccessToken == first.AccessToken || forced.ExpiresIn != 7200 {
		t.Fatalf("force_refresh: same=%v expires_in=%d", forced.AccessToken == first.AccessToken, forced.ExpiresIn)
	}
	if got := stableToken(t, h, false).AccessToken; got != forced.AccessToken {
		t.Fatal("after force_refresh, a normal call does not return the new token")
	}
	clk.advance(5*time.Minute - time.Second)
	if got := tokenCode(t, h, first.AccessToken); got != 0 {
		t.Fatalf("old stable token within grace: errcode %d", got)
	}
	clk.advance(time.Second)
	if got := tokenCode(t, h, first.AccessToken); got != codeTokenExpired {
		t.Fatalf("old stable token after grace: errcode %d, want %d", got, codeTokenExpired)
	}

	// After expiry, a normal call issues a new one.
	clk.advance(2*time.Hour - 5*time.Minute)
	if got := tokenCode(t, h, forced.AccessToken); got != codeTokenExpired {
		t.Fatalf("stable token past its ttl: errcode %d, want %d", got, codeTokenExpired)
	}
	next := stableToken(t, h, false)
	if next.AccessToken == forced.AccessToken || next.ExpiresIn != 7200 {
		t.Fatalf("after expiry: same=%v expires_in=%d", next.AccessToken == forced.AccessToken, next.ExpiresIn)
	}
}

// TestStableTokenLastSecond checks that a token with less than a second
// left, which expires_in would report as 0, is replaced.
func TestStableTokenLastSecond(t *testing.T) {
	h, clk := newTestHandler(t)
	first := stableToken(t, h, false)
	clk.advance(2*time.Hour - 500*time.Millisecond)
	next := stableToken(t, h, false)
	if next.AccessToken == first.AccessToken || next.ExpiresIn != 7200 {
		t.Fatalf("same=%v expires_in=%d, want a new token with 7200", next.AccessToken == first.AccessToken, next.ExpiresIn)
	}
}

func TestTicket(t *testing.T) {
	h, clk := newTestHandler(t)
	token := classicToken(t, h).AccessToken
	first := getTicket(t, h, token)
	if first.ErrCode != 0 || first.ErrMsg != "ok" || first.ExpiresIn != 7200 {
		t.Fatalf("getticket: %+v", first)
	}
	if len(first.Ticket) < 80 || len(first.Ticket) > 100 || !credentialRE.MatchString(first.Ticket) {
		t.Errorf("ticket %q: want about 86 chars of [A-Za-z0-9_-]", first.Ticket)
	}

	// The same ticket while valid, whichever valid token asks, with the
	// seconds it has left.
	clk.advance(time.Hour)
	stable := stableToken(t, h, false).AccessToken
	again := getTicket(t, h, stable)
	if again.Ticket != first.Ticket || again.ExpiresIn != 3600 {
		t.Fatalf("second getticket: same=%v expires_in=%d, want same and 3600", again.Ticket == first.Ticket, again.ExpiresIn)
	}

	// A new ticket after expiry.
	clk.advance(time.Hour)
	next := getTicket(t, h, stable)
	if next.ErrCode != 0 || next.Ticket == first.Ticket || next.ExpiresIn != 7200 {
		t.Fatalf("after expiry: errcode=%d same=%v expires_in=%d", next.ErrCode, next.Ticket == first.Ticket, next.ExpiresIn)
	}
}

// TestWeChatErrors covers every error the emulated endpoints answer, and
// checks that none of them echoes a secret.
func TestWeChatErrors(t *testing.T) {
	h, clk := newTestHandler(t)
	expired := classicToken(t, h).AccessToken
	classicToken(t, h)                       // supersedes expired
	clk.advance(5*time.Minute + time.Second) // and ends its grace
	valid := classicToken(t, h).AccessToken
	unissued := newCredential(tokenLen)

	good := func(appID, secret string) string { return tokenURL("client_credential", appID, secret) }
	stable := func(grantType, appID, secret string) string {
		return stableBody(t, grantType, appID, secret, false)
	}
	ticketURL := func(token, typ string) string { return pathTicket + "?access_token=" + token + "&type=" + typ }

	tests := []struct {
		name         string
		method       string
		target, body string
		status, code int
	}{
		{"token: wrong grant_type", "GET", tokenURL("authorization_code", h.AppID, testSecret), "", 200, 40002},
		{"token: no grant_type", "GET", pathToken + "?appid=" + h.AppID + "&secret=" + testSecret, "", 200, 40002},
		{"token: no appid", "GET", good("", testSecret), "", 200, 41002},
		{"token: wrong appid", "GET", good("wx-other", testSecret), "", 200, 40013},
		{"token: no secret", "GET", good(h.AppID, ""), "", 200, 41004},
		{"token: wrong secret", "GET", good(h.AppID, "x"+testSecret[1:]), "", 200, 40125},
		{"token: POST", "POST", good(h.AppID, testSecret), "", 200, 43001},
		{"stable_token: GET", "GET", pathStableToken, "", 200, 43002},
		{"stable_token: malformed JSON", "POST", pathStableToken, `{"grant_type":`, 200, 47001},
		{"stable_token: empty body", "POST", pathStableToken, "", 200, 47001},
		{"stable_token: wrong field type", "POST", pathStableToken, `{"grant_type":"client_credential","force_refresh":"yes"}`, 200, 47001},
		{"stable_token: trailing garbage", "POST", pathStableToken, stable("client_credential", h.AppID, testSecret) + "x", 200, 47001},
		{"stable_token: wrong grant_type", "POST", pathStableToken, stable("password", h.AppID, testSecret), 200, 40002},
		{"stable_token: wrong appid", "POST", pathStableToken, stable("client_credential", "wx-other", testSecret), 200, 40013},
		{"stable_token: no appid", "POST", pathStableToken, stable("client_credential", "", testSecret), 200, 41002},
		{"stable_token: wrong secret", "POST", pathStableToken, stable("client_credential", h.AppID, "nope"), 200, 40125},
		{"stable_token: no secret", "POST", pathStableToken, stable("client_credential", h.AppID, ""), 200, 41004},
		{"getticket: POST", "POST", ticketURL(valid, "jsapi"), "", 200, 43001},
		{"getticket: no access_token", "GET", pathTicket + "?type=jsapi", "", 200, 41001},
		{"getticket: malformed token", "GET", ticketURL("not-a-token", "jsapi"), "", 200, 40014},
		{"getticket: ticket as token", "GET", ticketURL(newCredential(ticketLen), "jsapi"), "", 200, 40014},
		{"getticket: bad char in token", "GET", ticketURL(valid[:tokenLen-1]+".", "jsapi"), "", 200, 40014},
		{"getticket: never issued", "GET", ticketURL(unissued, "jsapi"), "", 200, 40001},
		{"getticket: superseded", "GET", ticketURL(expired, "jsapi"), "", 200, 42001},
		{"getticket: type wx_card", "GET", ticketURL(valid, "wx_card"), "", 200, 40097},
		{"getticket: no type", "GET", pathTicket + "?access_token=" + valid, "", 200, 40097},
		{"unknown path", "GET", "/cgi-bin/menu/get", "", 404, 40066},
		{"root", "GET", "/", "", 404, 40066},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, h, tc.method, tc.target, tc.body)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			e := decode[wechatError](t, rec)
			if e.ErrCode != tc.code {
				t.Errorf("errcode %d, want %d (errmsg %q)", e.ErrCode, tc.code, e.ErrMsg)
			}
			if want := errmsgs[tc.code]; !strings.HasPrefix(e.ErrMsg, want+" rid: ") || !ridRE.MatchString(e.ErrMsg) {
				t.Errorf("errmsg %q, want %q + rid", e.ErrMsg, want)
			}
			if body := rec.Body.String(); strings.Contains(body, testSecret) || strings.Contains(body, valid) {
				t.Errorf("error body reveals a secret: %s", body)
			}
		})
	}
}

// TestErrorRIDsDiffer checks that the request ID is not a constant.
func TestErrorRIDsDiffer(t *testing.T) {
	h, _ := newTestHandler(t)
	a := decode[wechatError](t, serve(t, h, http.MethodGet, "/nope", ""))
	b := decode[wechatError](t, serve(t, h, http.MethodGet, "/nope", ""))
	if a.ErrMsg == b.ErrMsg {
		t.Fatalf("two errors carry the same rid: %q", a.ErrMsg)
	}
}
