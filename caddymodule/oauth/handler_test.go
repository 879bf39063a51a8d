package oauth

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/identity"
)

func TestRedirectToAuthorize(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(*Handler)
		target   string
		https    bool
		host     string
		want     string // the Location up to state=
		cookie   string
		wantBack string
	}{
		{"https defaults", nil, "/shop/item?id=1&from=singlemessage", true, "",
			"https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx0123456789abcdef&redirect_uri=https%3A%2F%2Fshop.example%2F.well-known%2Fwechat-oauth%2Fcallback&response_type=code&scope=snsapi_base&state=",
			"__Host-wechat_oauth_state", "/shop/item?id=1&from=singlemessage"},
		{"http, userinfo, own endpoints", func(h *Handler) {
			h.Scope = ScopeUserInfo
			h.AuthorizeURL = "http://127.0.0.1:9081/connect/oauth2/authorize"
			h.CallbackPath = "/auth/wechat"
		}, "/", false, "",
			"http://127.0.0.1:9081/connect/oauth2/authorize?appid=wx0123456789abcdef&redirect_uri=http%3A%2F%2Fshop.example%2Fauth%2Fwechat&response_type=code&scope=snsapi_userinfo&state=",
			"wechat_oauth_state", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.mutate)
			rec, next := f.do(t, request{target: tt.target, ua: wechatUA, https: tt.https})
			if rec.Code != http.StatusFound || next.called {
				t.Fatalf("status %d, next called %v", rec.Code, next.called)
			}
			loc := rec.Header().Get("Location")
			state, ok := strings.CutPrefix(loc, tt.want)
			if !ok {
				t.Fatalf("Location\n%s\nwant prefix\n%s", loc, tt.want)
			}
			state, ok = strings.CutSuffix(state, "#wechat_redirect")
			if !ok || !regexp.MustCompile(`^[0-9a-f]{48}$`).MatchString(state) {
				t.Fatalf("Location %s: want a 48-character state and #wechat_redirect at the end", loc)
			}
			if rec.Header().Get("Cache-Control") != "no-store" {
				t.Error("the redirect may be cached")
			}
			c := cookie(rec, tt.cookie)
			if c == nil {
				t.Fatalf("no %s cookie in %v", tt.cookie, rec.Header()["Set-Cookie"])
			}
			if !c.HttpOnly || c.Secure != tt.https || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.MaxAge != 600 {
				t.Errorf("state cookie %+v", c)
			}
			// the cookie binds this state and keeps the return target
			p, ok := f.h.matchPending(withCookie(c), tt.https, state)
			if !ok || p.Return != tt.wantBack || !p.Expires.Equal(testNow.Add(stateTTL)) {
				t.Errorf("pending %+v %v", p, ok)
			}
			// each redirect starts a new attempt
			again, _ := f.do(t, request{target: tt.target, ua: wechatUA, https: tt.https})
			if stateParam(t, again.Header().Get("Location")) == state {
				t.Error("two redirects share a state")
			}
		})
	}
}

// withCookie is a request carrying c.
func withCookie(c *http.Cookie) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(c)
	return r
}

func TestWithoutSession(t *testing.T) {
	tests := []struct {
		name      string
		outside   string
		req       request
		status    int // 0: passed on to next
		wantCType string
	}{
		{"WeChat GET", "", request{ua: wechatUA}, http.StatusFound, ""},
		{"WeChat HEAD", "", request{method: http.MethodHead, ua: wechatUA}, http.StatusFound, ""},
		{"WeChat navigation", "", request{ua: wechatUA, header: map[string]string{"Sec-Fetch-Mode": "navigate"}}, http.StatusFound, ""},
		{"Android WebView X-Requested-With", "", request{ua: wechatUA, header: map[string]string{"X-Requested-With": "com.tencent.mm"}}, http.StatusFound, ""},
		{"WeChat POST", "", request{method: http.MethodPost, ua: wechatUA}, http.StatusUnauthorized, "application/json"},
		{"WeChat PUT", "", request{method: http.MethodPut, ua: wechatUA}, http.StatusUnauthorized, "application/json"},
		{"WeChat fetch", "", request{ua: wechatUA, header: map[string]string{"Sec-Fetch-Mode": "cors"}}, http.StatusUnauthorized, "application/json"},
		{"WeChat jQuery XHR", "", request{ua: wechatUA, header: map[string]string{"X-Requested-With": "XMLHttpRequest"}}, http.StatusUnauthorized, "application/json"},
		{"other browser, pass", "", request{ua: plainUA}, 0, ""},
		{"other browser POST, pass", OutsidePass, request{method: http.MethodPost, ua: plainUA}, 0, ""},
		{"no User-Agent, pass", "", request{}, 0, ""},
		{"other browser, deny", OutsideDeny, request{ua: plainUA}, http.StatusForbidden, "text/html"},
		{"other browser fetch, deny", OutsideDeny, request{ua: plainUA, header: map[string]string{"Sec-Fetch-Mode": "cors"}}, http.StatusForbidden, "application/json"},
		{"WeChat, deny", OutsideDeny, request{ua: wechatUA}, http.StatusFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(h *Handler) { h.OutsideWeChat = tt.outside })
			tt.req.target = "/page"
			tt.req.header = with(tt.req.header, "X-WeChat-OpenID", "spoofed")
			rec, next := f.do(t, tt.req)
			if tt.status == 0 {
				if !next.called || rec.Code != http.StatusOK {
					t.Fatalf("status %d, next called %v: want passed on", rec.Code, next.called)
				}
				if v := next.header.Get("X-WeChat-OpenID"); v != "" {
					t.Errorf("upstream got openid %q without a session", v)
				}
				return
			}
			if next.called || rec.Code != tt.status {
				t.Fatalf("status %d, next called %v; want %d", rec.Code, next.called, tt.status)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tt.wantCType) {
				t.Errorf("Content-Type %q, want %s", ct, tt.wantCType)
			}
			if tt.status == http.StatusForbidden && tt.wantCType == "text/html" && !strings.Contains(rec.Body.String(), "请在微信客户端打开链接") {
				t.Errorf("deny page %q", rec.Body.String())
			}
			if tt.status == http.StatusUnauthorized && !strings.Contains(rec.Body.String(), `"error":"wechat_oauth_required"`) {
				t.Errorf("401 body %q", rec.Body.String())
			}
		})
	}
}

func with(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestSignIn(t *testing.T) {
	tests := []struct {
		name        string
		code        string
		https       bool
		wantCookie  string
		wantUnionID string
	}{
		{"https, openid only", "code-base", true, "__Host-wechat_oauth", ""},
		{"http, with unionid", "code-union", false, "wechat_oauth", testUnion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			const target = "/pay/order.html?item=42&from=timeline"
			session, cb := f.signIn(t, target, tt.code, tt.https)
			if cb.Code != http.StatusFound || cb.Header().Get("Location") != target {
				t.Fatalf("callback: %d Location %q, want 302 to %s", cb.Code, cb.Header().Get("Location"), target)
			}
			if session == nil || session.Name != tt.wantCookie {
				t.Fatalf("session cookie %+v, want %s", session, tt.wantCookie)
			}
			if !session.HttpOnly || session.Secure != tt.https || session.SameSite != http.SameSiteLaxMode ||
				session.Path != "/" || session.Domain != "" || session.MaxAge != 7*24*3600 {
				t.Errorf("session cookie %+v", session)
			}
			for _, leak := range []string{testOpenID, testUnion, "USER-TOKEN-CANARY", "REFRESH-CANARY"} {
				if strings.Contains(session.Value, leak) {
					t.Errorf("the session cookie shows %q", leak)
				}
			}
			// the state cookie is cleared
			_, stateName := f.h.cookieNames(tt.https)
			if c := cookie(cb, stateName); c == nil || c.MaxAge >= 0 {
				t.Errorf("state cookie after the callback: %+v", c)
			}
			// the callback is kept out of the access log: its URI holds the code
			// (checked through the var the callback sets)
			rec, next := f.do(t, request{target: target, ua: wechatUA, https: tt.https, cookies: []*http.Cookie{session}})
			if rec.Code != http.StatusOK || !next.called {
				t.Fatalf("with the session: %d", rec.Code)
			}
			if got := next.header.Get("X-WeChat-OpenID"); got != testOpenID {
				t.Errorf("upstream openid %q, want %q", got, testOpenID)
			}
			if got := next.header.Get("X-WeChat-UnionID"); got != tt.wantUnionID {
				t.Errorf("upstream unionid %q, want %q", got, tt.wantUnionID)
			}
			// valid until max_age, whatever the browser
			f.advance(7*24*time.Hour - time.Second)
			if _, next := f.do(t, request{target: "/", ua: plainUA, https: tt.https, cookies: []*http.Cookie{session}}); next.header.Get("X-WeChat-OpenID") != testOpenID {
				t.Error("the session ended before max_age")
			}
		})
	}
}

func TestCallbackSkipsAccessLog(t *testing.T) {
	f := newFixture(t, nil)
	r, _ := http.NewRequest(http.MethodGet, "http://shop.example"+DefaultCallbackPath+"?code=code-base&state=x", nil)
	vars := map[string]any{}
	r = r.WithContext(contextWithVars(r, vars))
	if err := f.h.ServeHTTP(newRecorder(), r, nil); err != nil {
		t.Fatal(err)
	}
	if vars[caddyhttp.LogSkipVar] != true {
		t.Errorf("vars %v: the callback must set %s", vars, caddyhttp.LogSkipVar)
	}
}

func TestIdentityHeadersStripped(t *testing.T) {
	spoofs := map[string]string{
		"X-WeChat-OpenID":  "spoof1",
		"x-wechat-openid":  "spoof2",
		"X_WeChat_OpenID":  "spoof3",
		"X.WeChat.OpenID":  "spoof6",
		"X-WECHAT-UNIONID": "spoof4",
		"x_wechat_unionid": "spoof5",
	}
	f := newFixture(t, nil)
	session, _ := f.signIn(t, "/", "code-base", true)
	for _, tt := range []struct {
		name    string
		cookies []*http.Cookie
		want    string
	}{
		{"without a session", nil, ""},
		{"with a session", []*http.Cookie{session}, testOpenID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, next := f.do(t, request{target: "/", ua: plainUA, https: true, header: spoofs, cookies: tt.cookies})
			if !next.called {
				t.Fatal("not passed on")
			}
			for name, v := range next.header {
				if identity.SameName(name, "X-WeChat-OpenID") || identity.SameName(name, "X-WeChat-UnionID") {
					if len(v) != 1 || v[0] != tt.want {
						t.Errorf("upstream got %s: %q", name, v)
					}
				}
			}
			if got := next.header.Get("X-WeChat-OpenID"); got != tt.want {
				t.Errorf("openid %q, want %q", got, tt.want)
			}
			if got := next.header.Get("X-WeChat-UnionID"); got != "" {
				t.Errorf("unionid %q, want none (this user has none)", got)
			}
		})
	}
}

func TestCustomHeaders(t *testing.T) {
	f := newFixture(t, func(h *Handler) { h.Header, h.UnionIDHeader = "x-user-openid", "X-User-Unionid" })
	session, _ := f.signIn(t, "/", "code-union", false)
	// the default names stay identity headers whatever header says: an app
	// behind the site may read them, and only the handler may set them
	_, next := f.do(t, request{target: "/", cookies: []*http.Cookie{session},
		header: map[string]string{"X-WeChat-OpenID": "spoof", "x_wechat_unionid": "spoof", "X_User_OpenID": "spoof", "X.User.UnionID": "spoof"}})
	want := http.Header{"X-User-Openid": {testOpenID}, "X-User-Unionid": {testUnion}}
	for name, v := range next.header {
		if identity.NewNames("X-WeChat-OpenID", "X-WeChat-UnionID", "X-User-OpenID", "X-User-UnionID").Covers(name) &&
			!reflect.DeepEqual(v, want[name]) {
			t.Errorf("upstream got %s: %q", name, v)
		}
	}
	if next.header.Get("X-User-Openid") != testOpenID || next.header.Get("X-User-Unionid") != testUnion {
		t.Errorf("upstream headers %v", next.header)
	}
}

func TestInvalidSessionCookies(t *testing.T) {
	f := newFixture(t, nil)
	good, _ := f.signIn(t, "/", "code-base", true)
	other := newFixture(t, nil) // its own storage, so its own key
	foreign, _ := other.signIn(t, "/", "code-base", true)
	otherApp := newFixture(t, func(h *Handler) { h.AppID = "wx00000000000000ff"; h.storage = f.storage })
	otherAppSession, _ := otherApp.signIn(t, "/", "code-base", true)
	// the same key under another app ID: the additional data tells them apart
	sameKey, _ := newSealer(mustKey(t, f), "wx00000000000000ff")
	stateAsSession := f.h.sealer.seal(purposeState, encodePending(pending{Expires: testNow.Add(time.Hour), Return: "/"}))
	tamper := func(v string, i int) string {
		b := []byte(v)
		b[i] ^= 1
		if b[i] == '=' || b[i] < '-' {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name  string
		value string
		clock time.Duration
	}{
		{"tampered first byte", tamper(good.Value, 0), 0},
		{"tampered middle", tamper(good.Value, len(good.Value)/2), 0},
		{"tampered tag", tamper(good.Value, len(good.Value)-1), 0},
		{"truncated", good.Value[:len(good.Value)-4], 0},
		{"extended", good.Value + "AAAA", 0},
		{"expired", good.Value, 7 * 24 * time.Hour},
		{"another key", foreign.Value, 0},
		{"another app, same storage", otherAppSession.Value, 0},
		{"another app, same key", sameKey.seal(purposeSession, encodeSession(session{Expires: testNow.Add(time.Hour), OpenID: "oEvil"})), 0},
		{"a state cookie", stateAsSession, 0},
		{"not base64", "!!!!", 0},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.advance(tt.clock)
			defer f.advance(-tt.clock)
			c := &http.Cookie{Name: good.Name, Value: tt.value}
			rec, next := f.do(t, request{target: "/x", ua: wechatUA, https: true, cookies: []*http.Cookie{c}})
			if rec.Code != http.StatusFound || next.called {
				t.Errorf("status %d, next called %v: want a new sign-in", rec.Code, next.called)
			}
			_, next = f.do(t, request{target: "/x", ua: plainUA, https: true, cookies: []*http.Cookie{c}})
			if !next.called || next.header.Get("X-WeChat-OpenID") != "" {
				t.Errorf("other browser: passed %v with openid %q", next.called, next.header.Get("X-WeChat-OpenID"))
			}
		})
	}
	// a bad cookie next to a good one does not hide it
	_, next := f.do(t, request{target: "/", ua: wechatUA, https: true,
		cookies: []*http.Cookie{{Name: good.Name, Value: foreign.Value}, good}})
	if next.header.Get("X-WeChat-OpenID") != testOpenID {
		t.Error("a forged cookie ahead of the real one hid it")
	}
}

func mustKey(t *testing.T, f *fixture) []byte {
	t.Helper()
	key, _, err := loadOrCreateKey(t.Context(), f.storage, f.h.AppID)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestCallbackRefusals(t *testing.T) {
	type step struct {
		query   string // after the callback path; STATE is replaced
		cookie  bool   // send the state cookie
		clock   time.Duration
		method  string
		status  int
		message string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"replayed state", []step{
			{query: "?code=code-base&state=STATE", cookie: true, status: http.StatusFound},
			{query: "?code=code-union&state=STATE", cookie: true, status: http.StatusBadRequest, message: msgState},
		}},
		{"replay after a refused code", []step{
			{query: "?code=unknown&state=STATE", cookie: true, status: http.StatusBadRequest, message: msgCode},
			{query: "?code=code-base&state=STATE", cookie: true, status: http.StatusBadRequest, message: msgState},
		}},
		{"no state cookie (another browser, CSRF)", []step{{query: "?code=code-base&state=STATE", status: http.StatusBadRequest, message: msgState}}},
		{"state of another attempt", []step{{query: "?code=code-base&state=" + strings.Repeat("ab", idSize), cookie: true, status: http.StatusBadRequest, message: msgState}}},
		{"no state", []step{{query: "?code=code-base", cookie: true, status: http.StatusBadRequest, message: msgState}}},
		{"expired state", []step{{query: "?code=code-base&state=STATE", cookie: true, clock: stateTTL, status: http.StatusBadRequest, message: msgState}}},
		{"declined", []step{{query: "?state=STATE", cookie: true, status: http.StatusForbidden, message: msgDeclined}}},
		{"invalid code", []step{{query: "?code=unknown&state=STATE", cookie: true, status: http.StatusBadRequest, message: msgCode}}},
		{"code already used", []step{{query: "?code=code-used&state=STATE", cookie: true, status: http.StatusBadRequest, message: msgCode}}},
		{"WeChat busy", []step{{query: "?code=code-busy&state=STATE", cookie: true, status: http.StatusBadGateway, message: msgUpstream}}},
		{"POST", []step{{query: "?code=code-base&state=STATE", cookie: true, method: http.MethodPost, status: http.StatusMethodNotAllowed, message: msgMethod}}},
		{"HEAD", []step{{query: "?code=code-base&state=STATE", cookie: true, method: http.MethodHead, status: http.StatusMethodNotAllowed, message: msgMethod}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			start, _ := f.do(t, request{target: "/p", ua: wechatUA, https: true})
			state := stateParam(t, start.Header().Get("Location"))
			stateCookie := cookie(start, "__Host-wechat_oauth_state")
			for i, s := range tt.steps {
				f.advance(s.clock)
				req := request{method: s.method, target: DefaultCallbackPath + strings.ReplaceAll(s.query, "STATE", state), ua: wechatUA, https: true}
				if s.cookie {
					req.cookies = []*http.Cookie{stateCookie}
				}
				rec, next := f.do(t, req)
				if rec.Code != s.status || next.called {
					t.Fatalf("step %d: status %d (next called %v), want %d; body %q", i, rec.Code, next.called, s.status, rec.Body.String())
				}
				if s.status == http.StatusFound {
					continue
				}
				if rec.Body.String() != s.message || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
					t.Errorf("step %d: body %q, want %q", i, rec.Body.String(), s.message)
				}
				if c := cookie(rec, "__Host-wechat_oauth"); c != nil {
					t.Errorf("step %d: a refusal set a session cookie", i)
				}
			}
		})
	}
}

func TestExchangeProblemsLoggedOnce(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Handler)
		code   string
		level  string
	}{
		{"WeChat busy", nil, "code-busy", "warn"},
		{"wrong secret", func(h *Handler) { h.AppSecret = "wrong-secret-canary" }, "code-base", "error"},
		{"WeChat unreachable", func(h *Handler) { h.APIBase = "http://127.0.0.1:1" }, "code-base", "warn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.mutate)
			for range 3 {
				if _, cb := f.signIn(t, "/", tt.code, true); cb.Code != http.StatusBadGateway {
					t.Fatalf("callback %d, want 502", cb.Code)
				}
			}
			var levels []string
			for _, e := range f.logs.All() {
				if slices.Contains(causeMessages[:], e.Message) && e.Level.String() != "debug" {
					levels = append(levels, e.Level.String())
				}
			}
			if len(levels) != 1 || levels[0] != tt.level {
				t.Errorf("logged above debug: %v, want one %s", levels, tt.level)
			}
		})
	}
}

func TestReturnTarget(t *testing.T) {
	long := "/search?q=" + strings.Repeat("x", maxReturn)
	tests := []struct {
		name   string
		target string
		orig   string // as it arrived, before a rewrite
		want   string
	}{
		{"path and query", "/a/b?c=d&e=%2F", "", "/a/b?c=d&e=%2F"},
		{"protocol-relative", "//evil.example/x?y=1", "", "/evil.example/x?y=1"},
		{"backslash", "/%5Cevil.example", "", "/%5Cevil.example"},
		{"rewritten for an SPA", "/index.html", "/app/orders/7?tab=paid", "/app/orders/7?tab=paid"},
		{"too long: path only", long, "", "/search"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			_, cb := f.signInFrom(t, request{target: tt.target, orig: tt.orig, ua: wechatUA}, "code-base")
			if got := cb.Header().Get("Location"); got != tt.want {
				t.Errorf("landed on %q, want %q", got, tt.want)
			}
		})
	}
}

// signInFrom is signIn for a request with more to it than a target.
func (f *fixture) signInFrom(t *testing.T, req request, code string) (*http.Cookie, *httpResponse) {
	t.Helper()
	rec, _ := f.do(t, req)
	if rec.Code != http.StatusFound {
		t.Fatalf("%d, want a redirect", rec.Code)
	}
	sessionName, stateName := f.h.cookieNames(req.https)
	state := stateParam(t, rec.Header().Get("Location"))
	cb, _ := f.do(t, request{target: f.h.CallbackPath + "?code=" + code + "&state=" + state, ua: wechatUA, https: req.https,
		cookies: []*http.Cookie{cookie(rec, stateName)}})
	return cookie(cb, sessionName), cb
}

func TestLocalTarget(t *testing.T) {
	for in, want := range map[string]string{
		"/":                    "/",
		"/a?b":                 "/a?b",
		"":                     "/",
		"*":                    "/",
		"https://evil.example": "/",
		"//evil.example":       "/evil.example",
		"///evil.example":      "/evil.example",
		`/\evil.example`:       "/evil.example",
		`/\/\evil`:             "/evil",
		"/a\r\nSet-Cookie: x":  "/",
		"/a\x7f":               "/",
		"/a//b":                "/a//b",
	} {
		if got := localTarget(in); got != want {
			t.Errorf("localTarget(%q) = %q, want %q", in, got, want)
		}
		if !isLocalTarget(localTarget(in)) {
			t.Errorf("localTarget(%q) = %q is not local", in, localTarget(in))
		}
	}
}

func TestForeignReturnInStateRefused(t *testing.T) {
	f := newFixture(t, nil)
	for _, ret := range []string{"https://evil.example/", "//evil.example/", `/\evil.example`, "evil"} {
		p := pending{ID: newStateID(), Expires: testNow.Add(time.Minute), Return: ret}
		c := &http.Cookie{Name: "__Host-wechat_oauth_state", Value: f.h.sealer.seal(purposeState, encodePending(p))}
		rec, _ := f.do(t, request{target: DefaultCallbackPath + "?code=code-base&state=" + p.ID.param(), https: true, cookies: []*http.Cookie{c}})
		if rec.Code != http.StatusBadRequest || rec.Header().Get("Location") != "" {
			t.Errorf("return %q: %d Location %q, want 400", ret, rec.Code, rec.Header().Get("Location"))
		}
	}
	if f.wechat.calls() != 0 {
		t.Error("a code was exchanged for a refused state")
	}
}

func TestSnapshotUser(t *testing.T) {
	f := newFixture(t, nil)
	session, cb := f.signIn(t, "/p", "code-snap", true)
	if cb.Code != http.StatusFound || session == nil || session.MaxAge != int(snapshotTTL/time.Second) {
		t.Fatalf("callback %d, session %+v", cb.Code, session)
	}
	rec, next := f.do(t, request{target: "/p", ua: wechatUA, https: true, cookies: []*http.Cookie{session}})
	if rec.Code != http.StatusOK || next.header.Get("X-WeChat-OpenID") != "" {
		t.Errorf("a snapshot user: %d, openid %q; want passed on without identity", rec.Code, next.header.Get("X-WeChat-OpenID"))
	}
	f.advance(snapshotTTL)
	if rec, _ := f.do(t, request{target: "/p", ua: wechatUA, https: true, cookies: []*http.Cookie{session}}); rec.Code != http.StatusFound {
		t.Errorf("after the snapshot session: %d, want a new sign-in", rec.Code)
	}
}

func TestCookieNames(t *testing.T) {
	tests := []struct {
		name, cookieName string
		https            bool
		want             string
	}{
		{"default https", "", true, "__Host-wechat_oauth"},
		{"default http", "", false, "wechat_oauth"},
		{"own https", "sess", true, "sess"},
		{"own http", "sess", false, "sess"},
		{"own __Host- https", "__Host-sess", true, "__Host-sess"},
		{"own __Host- http", "__Host-sess", false, "sess"},
		{"own __Secure- http", "__secure-sess", false, "sess"},
	}
	for _, tt := range tests {
		h := &Handler{CookieName: tt.cookieName}
		session, state := h.cookieNames(tt.https)
		if session != tt.want || state != tt.want+"_state" {
			t.Errorf("%s: %q %q, want %q", tt.name, session, state, tt.want)
		}
	}
}

func TestTrustedProxyScheme(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		f := newFixture(t, nil)
		r, _ := http.NewRequest(http.MethodGet, "http://10.0.0.1:8080/p", nil)
		r.Header.Set("User-Agent", wechatUA)
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "Shop.Example")
		r = r.WithContext(contextWithVars(r, map[string]any{caddyhttp.TrustedProxyVarKey: trusted}))
		rec := newRecorder()
		if err := f.h.ServeHTTP(rec, r, nil); err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(rec.Header().Get("Location"))
		redirect := u.Query().Get("redirect_uri")
		want, wantCookie := "http://10.0.0.1:8080"+DefaultCallbackPath, "wechat_oauth_state"
		if trusted {
			want, wantCookie = "https://shop.example"+DefaultCallbackPath, "__Host-wechat_oauth_state"
		}
		if redirect != want || cookie(rec, wantCookie) == nil {
			t.Errorf("trusted %v: redirect_uri %q, cookies %v; want %q and %s", trusted, redirect, rec.Header()["Set-Cookie"], want, wantCookie)
		}
	}
}

// TestTrustedProxySaysHTTP: behind a trusted proxy that reached Caddy over
// TLS for a browser on plain http, the browser's scheme counts, as it does
// for the URL wechat_jssdk signs: a Secure or __Host- cookie would be
// dropped by that browser, and redirect_uri would name another origin.
func TestTrustedProxySaysHTTP(t *testing.T) {
	f := newFixture(t, nil)
	r, _ := http.NewRequest(http.MethodGet, "https://shop.example/p", nil)
	r.TLS = &tls.ConnectionState{}
	r.Header.Set("User-Agent", wechatUA)
	r.Header.Set("X-Forwarded-Proto", "http")
	r = r.WithContext(contextWithVars(r, map[string]any{caddyhttp.TrustedProxyVarKey: true}))
	rec := newRecorder()
	if err := f.h.ServeHTTP(rec, r, nil); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(rec.Header().Get("Location"))
	if redirect, want := u.Query().Get("redirect_uri"), "http://shop.example"+DefaultCallbackPath; redirect != want {
		t.Errorf("redirect_uri %q, want %q", redirect, want)
	}
	c := cookie(rec, "wechat_oauth_state")
	if c == nil || c.Secure {
		t.Errorf("state cookie %v, want wechat_oauth_state without Secure", rec.Header()["Set-Cookie"])
	}
}

func TestNoSecretsInLogsOrResponses(t *testing.T) {
	f := newFixture(t, nil)
	var out strings.Builder
	record := func(rec *httpResponse) {
		out.WriteString(rec.Body.String())
		for k, v := range rec.Header() {
			if k != "Set-Cookie" { // sealed; checked by TestSignIn
				out.WriteString(k + ": " + strings.Join(v, ",") + "\n")
			}
		}
	}
	for _, code := range []string{"code-base", "code-union", "code-used", "code-busy", "unknown-code-canary", "code-snap"} {
		_, cb := f.signIn(t, "/p?x=1", code, true)
		record(cb)
	}
	bad := newFixture(t, func(h *Handler) { h.APIBase = "http://127.0.0.1:1" })
	_, cb := bad.signIn(t, "/", "code-base", true)
	record(cb)
	key := mustKey(t, f)
	logs := allLogs(f.logs) + allLogs(bad.logs)
	if !strings.Contains(logs, "40163") || !strings.Contains(logs, "connection refused") {
		t.Fatalf("the failures were not logged, the test proves nothing:\n%s", logs)
	}
	for _, secret := range []string{testSecret, "code-base", "code-union", "code-used", "code-busy", "unknown-code-canary",
		"USER-TOKEN-CANARY", "REFRESH-CANARY", string(key), b64(key)} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
		if strings.Contains(out.String(), secret) {
			t.Errorf("responses contain %q", secret)
		}
	}
	for _, id := range []string{testOpenID, testUnion} {
		if strings.Contains(logs, id) {
			t.Errorf("logs contain a user id %q", id)
		}
	}
}
