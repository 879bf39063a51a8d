package sandbox

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

const testRedirect = "https://shop.example/.well-known/wechat-oauth/callback"

// authorizeURL is a well-formed authorize link for h, extra appended.
func authorizeURL(h *Handler, state, extra string) string {
	return pathOAuthAuthorize + "?appid=" + url.QueryEscape(h.AppID) +
		"&redirect_uri=" + url.QueryEscape(testRedirect) +
		"&response_type=code&scope=snsapi_base&state=" + state + extra
}

// authorize follows the authorize link and returns the code and state the
// sandbox sends back.
func authorize(t *testing.T, h *Handler, target string, cookies ...*http.Cookie) (code, state string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := serveReq(t, h, req)
	if rec.Code != http.StatusFound {
		t.Fatalf("authorize: %d %s", rec.Code, rec.Body.String())
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != testRedirect {
		t.Fatalf("redirected to %s, want %s", got, testRedirect)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

// oauthAnswer is an access_token answer, success or error.
type oauthAnswer struct {
	oauthTokenReply
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// exchange calls the token endpoint with code and the right credentials.
func exchange(t *testing.T, h *Handler, code string) oauthAnswer {
	t.Helper()
	rec := serve(t, h, http.MethodGet, exchangeURL(h.AppID, testSecret, code, "authorization_code"), "")
	if rec.Code != http.StatusOK {
		t.Fatalf("access_token: status %d", rec.Code)
	}
	return decode[oauthAnswer](t, rec)
}

func exchangeURL(appID, secret, code, grantType string) string {
	return pathOAuthToken + "?" + url.Values{"appid": {appID}, "secret": {secret}, "code": {code}, "grant_type": {grantType}}.Encode()
}

var (
	openIDRE = regexp.MustCompile(`^o[A-Za-z0-9_-]{27}$`)
	codeRE   = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)
)

func TestOAuthFlow(t *testing.T) {
	h, _ := newTestHandler(t)
	code, state := authorize(t, h, authorizeURL(h, "abc123XYZ", ""))
	if state != "abc123XYZ" || !codeRE.MatchString(code) {
		t.Fatalf("code %q state %q", code, state)
	}
	r := exchange(t, h, code)
	if !openIDRE.MatchString(r.OpenID) || r.UnionID == "" || r.Scope != "snsapi_base" || r.AccessToken == "" || r.ExpiresIn != 7200 {
		t.Fatalf("answer %+v", r)
	}
	// a stable openid per user: the same user again, and after a reset
	code2, _ := authorize(t, h, authorizeURL(h, "s2", ""))
	if rec := control(t, h, pathReset, "{}"); rec.Code != http.StatusOK {
		t.Fatalf("reset: %d %s", rec.Code, rec.Body)
	}
	code3, _ := authorize(t, h, authorizeURL(h, "s3", ""))
	if code2 == code || code3 == code2 {
		t.Error("codes repeat")
	}
	if again := exchange(t, h, code3); again.OpenID != r.OpenID || again.UnionID != r.UnionID {
		t.Errorf("openid changed for the same user: %+v, then %+v", r, again)
	}
	// the reset forgot code2
	if got := exchange(t, h, code2); got.ErrCode != codeInvalidOAuthCode {
		t.Errorf("a code issued before the reset: %+v", got)
	}
}

func TestOAuthUsers(t *testing.T) {
	h, _ := newTestHandler(t)
	openID := func(target string, cookies ...*http.Cookie) oauthAnswer {
		code, _ := authorize(t, h, target, cookies...)
		return exchange(t, h, code)
	}
	def := openID(authorizeURL(h, "s", ""))
	alice := openID(authorizeURL(h, "s", "&user=alice"))
	aliceCookie := openID(authorizeURL(h, "s", ""), &http.Cookie{Name: sandboxUserCookie, Value: "alice"})
	bob := openID(authorizeURL(h, "s", "&user=bob"))
	if alice.OpenID != aliceCookie.OpenID || alice.UnionID != aliceCookie.UnionID {
		t.Errorf("user parameter and cookie disagree: %+v vs %+v", alice, aliceCookie)
	}
	if def.OpenID == alice.OpenID || alice.OpenID == bob.OpenID || alice.UnionID == bob.UnionID {
		t.Errorf("users share an id: default %+v alice %+v bob %+v", def, alice, bob)
	}
	// another app: another openid, the same unionid
	if sandboxOpenID("wxother", "alice") == alice.OpenID || sandboxUnionID("alice") != alice.UnionID {
		t.Error("openid must depend on the app and unionid must not")
	}
}

func TestOAuthCodeOnceAndExpiry(t *testing.T) {
	h, clk := newTestHandler(t)
	code, _ := authorize(t, h, authorizeURL(h, "s", ""))
	if r := exchange(t, h, code); r.OpenID == "" {
		t.Fatalf("first use: %+v", r)
	}
	if r := exchange(t, h, code); r.ErrCode != codeOAuthCodeUsed || !strings.HasPrefix(r.ErrMsg, "code been used rid: ") {
		t.Errorf("second use: %+v", r)
	}
	late, _ := authorize(t, h, authorizeURL(h, "s", ""))
	clk.advance(5*time.Minute - time.Second)
	onTime, _ := authorize(t, h, authorizeURL(h, "s", ""))
	clk.advance(time.Second)
	if r := exchange(t, h, late); r.ErrCode != codeInvalidOAuthCode {
		t.Errorf("a code 5 minutes old: %+v", r)
	}
	if r := exchange(t, h, onTime); r.OpenID == "" {
		t.Errorf("a code 1 second old: %+v", r)
	}
}

func TestOAuthTokenErrors(t *testing.T) {
	h, _ := newTestHandler(t)
	code, _ := authorize(t, h, authorizeURL(h, "s", ""))
	tests := []struct {
		name   string
		method string
		target string
		want   int
	}{
		{"POST", http.MethodPost, exchangeURL(h.AppID, testSecret, code, "authorization_code"), codeRequireGET},
		{"no appid", http.MethodGet, exchangeURL("", testSecret, code, "authorization_code"), codeAppIDMissing},
		{"wrong appid", http.MethodGet, exchangeURL("wxother", testSecret, code, "authorization_code"), codeInvalidAppID},
		{"no secret", http.MethodGet, exchangeURL(h.AppID, "", code, "authorization_code"), codeSecretMissing},
		{"wrong secret", http.MethodGet, exchangeURL(h.AppID, "nope", code, "authorization_code"), codeInvalidSecret},
		{"grant type", http.MethodGet, exchangeURL(h.AppID, testSecret, code, "client_credential"), codeInvalidGrantType},
		{"no code", http.MethodGet, exchangeURL(h.AppID, testSecret, "", "authorization_code"), codeOAuthCodeMissing},
		{"unknown code", http.MethodGet, exchangeURL(h.AppID, testSecret, strings.Repeat("A", 32), "authorization_code"), codeInvalidOAuthCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, h, tt.method, tt.target, "")
			r := decode[oauthAnswer](t, rec)
			if rec.Code != http.StatusOK || r.ErrCode != tt.want || !ridRE.MatchString(r.ErrMsg) || r.OpenID != "" {
				t.Errorf("%d %+v, want errcode %d", rec.Code, r, tt.want)
			}
			if strings.Contains(rec.Body.String(), testSecret) {
				t.Error("the answer repeats the secret")
			}
		})
	}
	// none of the refusals used the code up
	if r := exchange(t, h, code); r.OpenID == "" {
		t.Errorf("the code after refusals: %+v", r)
	}
}

func TestAuthorizeChecksTheLink(t *testing.T) {
	h, _ := newTestHandler(t)
	redirect := url.QueryEscape(testRedirect)
	app := url.QueryEscape(h.AppID)
	tests := []struct {
		name, query, want string // want: "" for a redirect, else part of the 400 body
	}{
		{"WeChat's order", "appid=" + app + "&redirect_uri=" + redirect + "&response_type=code&scope=snsapi_base&state=S", ""},
		{"userinfo", "appid=" + app + "&redirect_uri=" + redirect + "&response_type=code&scope=snsapi_userinfo&state=S", ""},
		{"no state", "appid=" + app + "&redirect_uri=" + redirect + "&response_type=code&scope=snsapi_base", ""},
		{"extra after state", "appid=" + app + "&redirect_uri=" + redirect + "&response_type=code&scope=snsapi_base&state=S&forcePopup=true", ""},
		{"state before scope", "appid=" + app + "&redirect_uri=" + redirect + "&response_type=code&state=S&scope=snsapi_base", "parameter 4 is not scope"},
		{"appid not first", "redirect_uri=" + redirect + "&appid=" + app + "&response_type=code&scope=snsapi_base&state=S", "parameter 1 is not appid"},
		{"state out of place", "appid=" + app + "&redirect_uri=" + redirect + "&response_type=code&scope=snsapi_base&x=1&state=S", "parameter 5 is not state"},
		{"wrong app", "appid=wxother&redirect_uri=" + redirect + "&response_type=code&scope=snsapi_base&state=S", "appid"},
		{"response_type", "appid=" + app + "&redirect_uri=" + redirect + "&response_type=token&scope=snsapi_base&state=S", "response_type"},
		{"scope", "appid=" + app + "&redirect_uri=" + redirect + "&response_type=code&scope=snsapi_login&state=S", "scope"},
		{"relative redirect", "appid=" + app + "&redirect_uri=%2Fcb&response_type=code&scope=snsapi_base&state=S", "redirect_uri"},
		{"javascript redirect", "appid=" + app + "&redirect_uri=javascript%3Aalert(1)&response_type=code&scope=snsapi_base&state=S", "redirect_uri"},
		{"state charset", "appid=" + app + "&redirect_uri=" + redirect + "&response_type=code&scope=snsapi_base&state=a-b", "state"},
		{"state length", "appid=" + app + "&redirect_uri=" + redirect + "&response_type=code&scope=snsapi_base&state=" + strings.Repeat("a", 129), "state"},
		{"long user", "appid=" + app + "&redirect_uri=" + redirect + "&response_type=code&scope=snsapi_base&state=S&user=" + strings.Repeat("u", 65), "user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, h, http.MethodGet, pathOAuthAuthorize+"?"+tt.query, "")
			if tt.want == "" {
				if rec.Code != http.StatusFound {
					t.Fatalf("%d %s, want a redirect", rec.Code, rec.Body.String())
				}
				return
			}
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tt.want) {
				t.Errorf("%d %q, want 400 about %q", rec.Code, rec.Body.String(), tt.want)
			}
		})
	}
	if rec := serve(t, h, http.MethodPost, authorizeURL(h, "S", ""), ""); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST authorize: %d", rec.Code)
	}
}

func TestAuthorizeKeepsRedirectQuery(t *testing.T) {
	h, _ := newTestHandler(t)
	target := pathOAuthAuthorize + "?appid=" + url.QueryEscape(h.AppID) +
		"&redirect_uri=" + url.QueryEscape("http://127.0.0.1:9080/cb?site=1") + "&response_type=code&scope=snsapi_base"
	rec := serve(t, h, http.MethodGet, target, "")
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusFound || loc.Host != "127.0.0.1:9080" || loc.Query().Get("site") != "1" ||
		!codeRE.MatchString(loc.Query().Get("code")) || loc.Query().Has("state") {
		t.Errorf("%d Location %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestOAuthCodesArePruned(t *testing.T) {
	h, clk := newTestHandler(t)
	for range minPrune {
		h.state.issueOAuthCode(clk.now(), &oauthGrant{openID: "o"})
	}
	clk.advance(oauthCodeTTL)
	fresh := h.state.issueOAuthCode(clk.now(), &oauthGrant{openID: "o"})
	h.state.mu.Lock()
	n := len(h.state.oauth.codes)
	h.state.mu.Unlock()
	if n != 1 {
		t.Errorf("%d codes remembered after the expired ones were due for pruning, want 1", n)
	}
	if _, code := h.state.redeemOAuthCode(fresh, clk.now()); code != 0 {
		t.Errorf("the fresh code: %d", code)
	}
}

// serveReq sends req through h.
func serveReq(t *testing.T, h *Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, req, nil); err != nil {
		t.Fatal(err)
	}
	return rec
}
