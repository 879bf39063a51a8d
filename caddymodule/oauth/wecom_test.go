package oauth

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/certmagic"

	"github.com/caddy-wechat/jssdk/caddymodule/internal/identity"
)

const (
	testCorpID     = "ww0123456789abcdef"
	testAgentID    = "1000002"
	testCorpSecret = "wecom-corp-secret-canary-77e1"
	testUserID     = "zhang.san@corp-1"
	testWeComOpen  = "oAAAAAwecomNonMemberOpenID_x"
	wecomUA        = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/4.1.22 MicroMessenger/7.0.1 Language/zh ColorScheme/Light"
	wecomDesktopUA = "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/53.0.2785.116 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63010200) wxWork/3.1.16"
)

// fakeWeCom plays WeCom's gettoken and getuserinfo. gettoken hands out
// TOKEN-CANARY-1, -2, … in turn, to the right corp ID and secret only;
// getuserinfo takes the tokens in valid (all when valid is nil) and answers
// 40014 to the others, then answers a code in users with that JSON, any
// other 40029. It counts the calls.
type fakeWeCom struct {
	mu          sync.Mutex
	valid       map[string]bool
	rejectWith  int // the errcode for a token not in valid; 0 means 40014
	users       map[string]string
	gettoken    int
	getuserinfo int
}

func (f *fakeWeCom) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/cgi-bin/gettoken":
		f.gettoken++
		switch {
		case q.Get("corpid") != testCorpID:
			fmt.Fprint(w, `{"errcode":40013,"errmsg":"invalid corpid"}`)
		case q.Get("corpsecret") != testCorpSecret:
			fmt.Fprint(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
		default:
			fmt.Fprintf(w, `{"errcode":0,"errmsg":"ok","access_token":"TOKEN-CANARY-%d","expires_in":7200}`, f.gettoken)
		}
	case "/cgi-bin/auth/getuserinfo":
		f.getuserinfo++
		if tok := q.Get("access_token"); f.valid != nil && !f.valid[tok] {
			code := f.rejectWith
			if code == 0 {
				code = 40014
			}
			fmt.Fprintf(w, `{"errcode":%d,"errmsg":"invalid access_token"}`, code)
			return
		}
		body, ok := f.users[q.Get("code")]
		if !ok {
			body = `{"errcode":40029,"errmsg":"invalid code"}`
		}
		fmt.Fprint(w, body)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeWeCom) counts() (gettoken, getuserinfo int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gettoken, f.getuserinfo
}

func (f *fakeWeCom) setValid(tokens ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid = map[string]bool{}
	for _, t := range tokens {
		f.valid[t] = true
	}
}

// newWeComFixture is newFixture for a handler in WeCom mode against a fake
// WeCom of its own.
func newWeComFixture(t *testing.T, mutate func(*Handler)) (*fixture, *fakeWeCom) {
	t.Helper()
	fw := &fakeWeCom{users: map[string]string{
		"code-member":    `{"errcode":0,"errmsg":"ok","userid":"` + testUserID + `","user_ticket":"USER-TICKET-CANARY","expires_in":1800}`,
		"code-nonmember": `{"errcode":0,"errmsg":"ok","openid":"` + testWeComOpen + `","external_userid":"wmEXTERNALuser0001"}`,
		"code-used":      `{"errcode":40029,"errmsg":"invalid code"}`,
		"code-busy":      `{"errcode":-1,"errmsg":"system busy"}`,
	}}
	srv := httptest.NewServer(fw)
	t.Cleanup(srv.Close)
	f := newFixture(t, func(h *Handler) {
		h.AppID, h.AppSecret = "", ""
		h.CorpID, h.AgentID, h.CorpSecret = testCorpID, testAgentID, testCorpSecret
		h.APIBase = srv.URL
		if mutate != nil {
			mutate(h)
		}
	})
	return f, fw
}

// weComSignIn runs the redirect (from WeCom's browser) and the callback
// with code, and returns the session cookie and the callback's answer.
func (f *fixture) weComSignIn(t *testing.T, target, code string, https bool) (*http.Cookie, *httptest.ResponseRecorder) {
	t.Helper()
	return f.signInFrom(t, request{target: target, ua: wecomUA, https: https}, code)
}

func TestWeComUnmarshalCaddyfile(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  Handler
	}{
		{"minimal", `wechat_oauth {
			corp_id     ww0123456789abcdef
			agent_id    1000002
			corp_secret {env.WECOM_SECRET}
		}`, Handler{CorpID: testCorpID, AgentID: testAgentID, CorpSecret: "{env.WECOM_SECRET}"}},
		{"every option", `wechat_oauth {
			corp_id        ww0123456789abcdef
			agent_id       1000002
			corp_secret    {file./run/secrets/wecom}
			scope          snsapi_privateinfo
			api_base       http://127.0.0.1:9081
			authorize_url  http://127.0.0.1:9081/connect/oauth2/authorize
			callback_path  /auth/wecom
			cookie_name    staff_session
			max_age        8h
			outside_wechat deny
		}`, Handler{CorpID: testCorpID, AgentID: testAgentID, CorpSecret: "{file./run/secrets/wecom}", Scope: ScopePrivateInfo,
			APIBase: "http://127.0.0.1:9081", AuthorizeURL: "http://127.0.0.1:9081/connect/oauth2/authorize",
			CallbackPath: "/auth/wecom", CookieName: "staff_session", MaxAge: caddy.Duration(8 * time.Hour), OutsideWeChat: OutsideDeny}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input)); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h, tt.want) {
				t.Errorf("got  %+v\nwant %+v", h, tt.want)
			}
		})
	}
}

func TestWeComConfigErrors(t *testing.T) {
	const secret = "literal-corp-secret-canary"
	block := func(lines ...string) string {
		return "wechat_oauth {\n" + strings.Join(lines, "\n") + "\n}"
	}
	base := []string{"corp_id ww0123456789abcdef", "agent_id 1000002", "corp_secret " + secret}
	tests := []struct {
		name, input, want string
	}{
		{"app_id and corp_id", block(append(base, "app_id wx0123456789abcdef")...),
			"wechat_oauth: app_id cannot be used with corp_id, agent_id, corp_secret: app_id and app_secret sign in through an Official Account"},
		{"app_secret and corp_secret", block("app_id wx0123456789abcdef", "app_secret s", "corp_secret "+secret),
			"wechat_oauth: app_id and app_secret cannot be used with corp_secret"},
		{"agent_id with an Official Account", block("app_id wx0123456789abcdef", "app_secret s", "agent_id 1000002"),
			"wechat_oauth: app_id and app_secret cannot be used with agent_id"},
		{"no corp_id", block("agent_id 1000002", "corp_secret "+secret), "wechat_oauth: corp_id is required"},
		{"no agent_id", block("corp_id ww0123456789abcdef", "corp_secret "+secret), "wechat_oauth: agent_id is required"},
		{"no corp_secret", block("corp_id ww0123456789abcdef", "agent_id 1000002"), "wechat_oauth: corp_secret is required"},
		{"corp_id shape", block("corp_id corp-0123", "agent_id 1000002", "corp_secret "+secret), "wechat_oauth: corp_id: not a WeCom corp ID"},
		{"corp_id placeholder", block("corp_id wwxxxxxxxxxxxxxxxx", "agent_id 1000002", "corp_secret "+secret), "wechat_oauth: corp_id: looks like a placeholder"},
		{"agent_id letters", block("corp_id ww0123456789abcdef", "agent_id app1", "corp_secret "+secret), "wechat_oauth: agent_id: not an AgentId"},
		{"agent_id leading zero", block("corp_id ww0123456789abcdef", "agent_id 01000002", "corp_secret "+secret), "wechat_oauth: agent_id: not an AgentId"},
		{"snsapi_userinfo", block(append(base, "scope snsapi_userinfo")...), `wechat_oauth: scope: "snsapi_userinfo" is not snsapi_base or snsapi_privateinfo (WeCom mode)`},
		{"snsapi_privateinfo for an Official Account", block("app_id wx0123456789abcdef", "app_secret s", "scope snsapi_privateinfo"),
			`wechat_oauth: scope: "snsapi_privateinfo" is not snsapi_base or snsapi_userinfo (snsapi_privateinfo is WeCom's`},
		{"header", block(append(base, "header X-Staff")...), "wechat_oauth: header: not used in WeCom mode, whose headers are X-WeCom-UserID"},
		{"api_base", block(append(base, "api_base qyapi.weixin.qq.com")...), `wechat_oauth: api_base: "qyapi.weixin.qq.com" is not an http:// or https:// URL`},
		{"corp_secret twice", block(append(base, "corp_secret "+secret+"2")...), "wechat_oauth: corp_secret: given more than once"},
		{"corp_secret two values", block("corp_id ww0123456789abcdef", "agent_id 1000002", "corp_secret "+secret+" "+secret), "wechat_oauth: corp_secret: takes exactly one value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
	// What only JSON can say: unionid_header in WeCom mode; and Validate
	// errors name the directive and the option.
	h := Handler{CorpID: testCorpID, AgentID: testAgentID, CorpSecret: "s", UnionIDHeader: "X-U"}
	h.applyDefaults()
	if err := h.Validate(); err == nil || !strings.Contains(err.Error(), "wechat_oauth: unionid_header: not used in WeCom mode") {
		t.Errorf("unionid_header in WeCom mode: %v", err)
	}
}

func TestWeComDefaults(t *testing.T) {
	h := &Handler{CorpID: testCorpID, AgentID: testAgentID, CorpSecret: testCorpSecret, storage: newMemStorage()}
	if err := provision(t, h); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Cleanup() })
	if h.Scope != ScopeBase || h.APIBase != "https://qyapi.weixin.qq.com" || h.AuthorizeURL != DefaultAuthorizeURL ||
		h.CallbackPath != "/.well-known/wecom-oauth/callback" || h.Header != "" || h.UnionIDHeader != "" || h.OutsideWeChat != OutsidePass {
		t.Errorf("defaults %+v", h)
	}
	for https, want := range map[bool]string{true: "__Host-wechat_oauth_wecom", false: "wechat_oauth_wecom"} {
		if s, st := h.cookieNames(https); s != want || st != want+"_state" {
			t.Errorf("https %v: cookies %q %q, want %q", https, s, st, want)
		}
	}
	if h.secret != testCorpSecret || h.wecom == nil || h.poolKey == "" || strings.Contains(h.poolKey, testCorpSecret) {
		t.Errorf("secret resolved %v, holder %v, pool key %q", h.secret == testCorpSecret, h.wecom != nil, h.poolKey)
	}
}

func TestWeComAuthorizeURL(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Handler)
		ua     string
		https  bool
		want   string // the Location, with STATE for the state
	}{
		{"defaults, https", nil, wecomUA, true,
			"https://open.weixin.qq.com/connect/oauth2/authorize?appid=ww0123456789abcdef&redirect_uri=https%3A%2F%2Fshop.example%2F.well-known%2Fwecom-oauth%2Fcallback&response_type=code&scope=snsapi_base&state=STATE&agentid=1000002#wechat_redirect"},
		{"privateinfo, own authorize page and callback, desktop client", func(h *Handler) {
			h.Scope = ScopePrivateInfo
			h.AuthorizeURL = "http://127.0.0.1:9081/connect/oauth2/authorize"
			h.CallbackPath = "/auth/wecom"
		}, wecomDesktopUA, false,
			"http://127.0.0.1:9081/connect/oauth2/authorize?appid=ww0123456789abcdef&redirect_uri=http%3A%2F%2Fshop.example%2Fauth%2Fwecom&response_type=code&scope=snsapi_privateinfo&state=STATE&agentid=1000002#wechat_redirect"},
	}
	stateRE := regexp.MustCompile(`state=([0-9a-f]{48})&`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := newWeComFixture(t, tt.mutate)
			rec, next := f.do(t, request{target: "/staff/list?dept=2", ua: tt.ua, https: tt.https})
			if rec.Code != http.StatusFound || next.called {
				t.Fatalf("status %d, next called %v", rec.Code, next.called)
			}
			loc := rec.Header().Get("Location")
			m := stateRE.FindStringSubmatch(loc)
			if m == nil {
				t.Fatalf("Location %s: no 48-character state", loc)
			}
			if got := strings.Replace(loc, m[1], "STATE", 1); got != tt.want {
				t.Errorf("Location\n%s\nwant\n%s", got, tt.want)
			}
			_, stateName := f.h.cookieNames(tt.https)
			c := cookie(rec, stateName)
			if c == nil {
				t.Fatalf("no %s cookie", stateName)
			}
			if p, ok := f.h.matchPending(withCookie(c), tt.https, m[1]); !ok || p.Return != "/staff/list?dept=2" {
				t.Errorf("pending %+v %v", p, ok)
			}
		})
	}
}

// In WeCom mode, WeCom's browser is sent to sign in; WeChat's, and any
// other, follow outside_wechat.
func TestWeComWithoutSession(t *testing.T) {
	tests := []struct {
		name    string
		outside string
		req     request
		status  int // 0: passed on
		body    string
	}{
		{"WeCom GET", "", request{ua: wecomUA}, http.StatusFound, ""},
		{"WeCom desktop GET", "", request{ua: wecomDesktopUA}, http.StatusFound, ""},
		{"WeCom fetch", "", request{ua: wecomUA, header: map[string]string{"Sec-Fetch-Mode": "cors"}}, http.StatusUnauthorized, signInRequiredWeCom},
		{"WeCom POST", OutsideDeny, request{method: http.MethodPost, ua: wecomUA}, http.StatusUnauthorized, signInRequiredWeCom},
		{"WeChat, pass", "", request{ua: wechatUA}, 0, ""},
		{"other browser, pass", OutsidePass, request{ua: plainUA}, 0, ""},
		{"WeChat, deny", OutsideDeny, request{ua: wechatUA}, http.StatusForbidden, outsideWeComPage},
		{"other browser fetch, deny", OutsideDeny, request{ua: plainUA, header: map[string]string{"Sec-Fetch-Mode": "cors"}}, http.StatusForbidden, outsideWeComJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := newWeComFixture(t, func(h *Handler) { h.OutsideWeChat = tt.outside })
			tt.req.target = "/page"
			tt.req.header = with(tt.req.header, "X-WeCom-UserID", "boss")
			rec, next := f.do(t, tt.req)
			if tt.status == 0 {
				if !next.called || next.header.Get("X-WeCom-UserID") != "" {
					t.Fatalf("status %d, next called %v, userid %q: want passed on without identity", rec.Code, next.called, next.header.Get("X-WeCom-UserID"))
				}
				return
			}
			if next.called || rec.Code != tt.status {
				t.Fatalf("status %d, next called %v; want %d", rec.Code, next.called, tt.status)
			}
			if tt.body != "" && rec.Body.String() != tt.body {
				t.Errorf("body %q, want %q", rec.Body.String(), tt.body)
			}
		})
	}
}

// Members reach the upstream with X-WeCom-UserID, non-members with
// X-WeCom-OpenID, and never with the other, nor with the Official
// Account's headers.
func TestWeComSignIn(t *testing.T) {
	tests := []struct {
		name       string
		code       string
		https      bool
		wantCookie string
		wantHeader string
		wantValue  string
	}{
		{"member, https", "code-member", true, "__Host-wechat_oauth_wecom", WeComUserIDHeader, testUserID},
		{"non-member, http", "code-nonmember", false, "wechat_oauth_wecom", WeComOpenIDHeader, testWeComOpen},
	}
	spoofs := map[string]string{
		"X-WeCom-UserID": "boss", "x_wecom_userid": "boss", "X.WeCom.UserID": "boss",
		"X-WECOM-OPENID": "oEvil", "x_wecom_openid": "oEvil",
		"X-WeChat-OpenID": "oEvil", "x.wechat.unionid": "oEvil",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, fw := newWeComFixture(t, nil)
			const target = "/staff/approve?id=9"
			session, cb := f.weComSignIn(t, target, tt.code, tt.https)
			if cb.Code != http.StatusFound || cb.Header().Get("Location") != target {
				t.Fatalf("callback: %d Location %q body %q, want 302 to %s", cb.Code, cb.Header().Get("Location"), cb.Body.String(), target)
			}
			if session == nil || session.Name != tt.wantCookie || !session.HttpOnly || session.Secure != tt.https ||
				session.SameSite != http.SameSiteLaxMode || session.MaxAge != 7*24*3600 {
				t.Fatalf("session cookie %+v, want %s", session, tt.wantCookie)
			}
			for _, leak := range []string{testUserID, testWeComOpen, "TOKEN-CANARY", "USER-TICKET-CANARY"} {
				if strings.Contains(session.Value, leak) {
					t.Errorf("the session cookie shows %q", leak)
				}
			}
			for _, ua := range []string{wecomUA, plainUA} {
				_, next := f.do(t, request{target: "/api/x", ua: ua, https: tt.https, cookies: []*http.Cookie{session}, header: spoofs})
				if !next.called {
					t.Fatal("not passed on with a session")
				}
				want := http.Header{http.CanonicalHeaderKey(tt.wantHeader): {tt.wantValue}}
				for name, v := range next.header {
					if f.h.names.Covers(name) && !reflect.DeepEqual(v, want[name]) {
						t.Errorf("upstream got %s: %q", name, v)
					}
				}
				if got := next.header.Get(tt.wantHeader); got != tt.wantValue {
					t.Errorf("%s %q, want %q", tt.wantHeader, got, tt.wantValue)
				}
			}
			if tok, info := fw.counts(); tok != 1 || info != 1 {
				t.Errorf("gettoken %d, getuserinfo %d; want 1 and 1", tok, info)
			}
		})
	}
}

// The code exchange's failures: a refused code gets the Official
// Account's refusal page, WeCom's failures a 502.
func TestWeComCallbackRefusals(t *testing.T) {
	oa := newFixture(t, nil)
	_, oaRefusal := oa.signIn(t, "/", "unknown", true)
	tests := []struct {
		name   string
		code   string
		mutate func(*Handler)
		status int
		body   string
	}{
		{"invalid code (40029)", "unknown-code-canary", nil, http.StatusBadRequest, msgCode},
		{"used code", "code-used", nil, http.StatusBadRequest, msgCode},
		{"declined (no code)", "", nil, http.StatusForbidden, msgDeclined},
		{"WeCom busy", "code-busy", nil, http.StatusBadGateway, msgUpstream},
		{"wrong corp_secret", "code-member", func(h *Handler) { h.CorpSecret = "wrong-corp-secret-canary" }, http.StatusBadGateway, msgUpstream},
		{"WeCom unreachable", "code-member", func(h *Handler) { h.APIBase = "http://127.0.0.1:1" }, http.StatusBadGateway, msgUpstream},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, _ := newWeComFixture(t, tt.mutate)
			session, cb := f.weComSignIn(t, "/p", tt.code, true)
			if cb.Code != tt.status || cb.Body.String() != tt.body || session != nil {
				t.Fatalf("callback %d %q (session %v), want %d %q", cb.Code, cb.Body.String(), session != nil, tt.status, tt.body)
			}
			if tt.body == msgCode {
				for _, k := range []string{"Content-Type", "Cache-Control", "X-Content-Type-Options", "Referrer-Policy"} {
					if cb.Header().Get(k) != oaRefusal.Header().Get(k) {
						t.Errorf("%s %q, the Official Account's refusal has %q", k, cb.Header().Get(k), oaRefusal.Header().Get(k))
					}
				}
				if oaRefusal.Code != cb.Code || oaRefusal.Body.String() != cb.Body.String() {
					t.Errorf("not the Official Account's refusal: %d %q", oaRefusal.Code, oaRefusal.Body.String())
				}
			}
		})
	}
}

// A token getuserinfo rejects (40001, 40014, 42001) is replaced once, and
// the code tried once more: one gettoken more, never two.
func TestWeComTokenRejected(t *testing.T) {
	for _, errcode := range []int{40001, 40014, 42001} {
		t.Run(fmt.Sprint(errcode), func(t *testing.T) {
			t.Run("once: replaced, signed in", func(t *testing.T) {
				f, fw := newWeComFixture(t, nil)
				fw.rejectWith = errcode
				fw.setValid("TOKEN-CANARY-2") // the first token is stale
				session, cb := f.weComSignIn(t, "/p", "code-member", true)
				if cb.Code != http.StatusFound || session == nil {
					t.Fatalf("callback %d %q", cb.Code, cb.Body.String())
				}
				if tok, info := fw.counts(); tok != 2 || info != 2 {
					t.Errorf("gettoken %d, getuserinfo %d; want 2 and 2", tok, info)
				}
				// the replacement is kept: the next sign-in fetches none
				if _, cb := f.weComSignIn(t, "/q", "code-nonmember", true); cb.Code != http.StatusFound {
					t.Fatalf("second callback %d", cb.Code)
				}
				if tok, info := fw.counts(); tok != 2 || info != 3 {
					t.Errorf("after a second sign-in: gettoken %d, getuserinfo %d; want 2 and 3", tok, info)
				}
			})
			t.Run("twice: one refetch, then 502", func(t *testing.T) {
				f, fw := newWeComFixture(t, nil)
				fw.rejectWith = errcode
				fw.setValid() // none
				_, cb := f.weComSignIn(t, "/p", "code-member", true)
				if cb.Code != http.StatusBadGateway || cb.Body.String() != msgUpstream {
					t.Fatalf("callback %d %q, want 502", cb.Code, cb.Body.String())
				}
				if tok, info := fw.counts(); tok != 2 || info != 2 {
					t.Errorf("gettoken %d, getuserinfo %d; want 2 and 2", tok, info)
				}
			})
		})
	}
}

// weComPeer is peer for a fixture in WeCom mode: another handler of the
// same app (another site, another instance or the config after a reload),
// with f's storage, WeCom and clock.
func (f *fixture) weComPeer(t *testing.T) *fixture {
	t.Helper()
	p := newFixture(t, func(h *Handler) {
		h.AppID, h.AppSecret = "", ""
		h.CorpID, h.AgentID, h.CorpSecret = f.h.CorpID, f.h.AgentID, f.h.CorpSecret
		h.storage, h.APIBase = f.storage, f.h.APIBase
	})
	p.h.now = f.clock
	return p
}

// One token per app in the process: two sites of the app, and a reload
// (the new config provisioned before the old one is cleaned up), share
// it; the last Cleanup closes it.
func TestWeComTokenPooled(t *testing.T) {
	f, fw := newWeComFixture(t, nil)
	if _, cb := f.weComSignIn(t, "/", "code-member", true); cb.Code != http.StatusFound {
		t.Fatal(cb.Code)
	}
	other, _ := newWeComFixture(t, nil) // another API origin: a fake of its own
	if other.h.wecom == f.h.wecom {
		t.Fatal("two API origins share a holder")
	}
	site2, reload := f.weComPeer(t), f.weComPeer(t)
	if site2.h.wecom != f.h.wecom || reload.h.wecom != f.h.wecom {
		t.Fatal("the app's handlers hold different tokens")
	}
	key := f.h.poolKey
	if n, _ := weComTokens.References(key); n != 3 {
		t.Errorf("%d references, want 3", n)
	}
	_ = f.h.Cleanup() // the old config goes
	_ = f.h.Cleanup() // twice is once
	if n, _ := weComTokens.References(key); n != 2 {
		t.Errorf("%d references after a Cleanup, want 2", n)
	}
	if _, cb := reload.weComSignIn(t, "/", "code-nonmember", true); cb.Code != http.StatusFound {
		t.Fatalf("after the reload: %d %q", cb.Code, cb.Body.String())
	}
	if _, cb := site2.weComSignIn(t, "/", "code-member", true); cb.Code != http.StatusFound {
		t.Fatalf("the second site: %d", cb.Code)
	}
	if tok, info := fw.counts(); tok != 1 || info != 3 {
		t.Errorf("gettoken %d, getuserinfo %d; want 1 and 3", tok, info)
	}
	// another secret is another holder
	wrong := &Handler{CorpID: testCorpID, AgentID: testAgentID, CorpSecret: "another-secret", APIBase: f.h.APIBase, storage: f.storage}
	if err := provision(t, wrong); err != nil {
		t.Fatal(err)
	}
	if wrong.wecom == reload.h.wecom || wrong.poolKey == key {
		t.Error("another secret shares the holder")
	}
	for _, h := range []*Handler{reload.h, wrong, site2.h} {
		_ = h.Cleanup()
	}
	if _, ok := weComTokens.References(key); ok {
		t.Error("the holder outlived its handlers")
	}
}

// Sessions of one mode or app never open in another: an Official
// Account's and a WeCom app's sharing the storage, and two WeCom apps of
// one corp.
func TestWeComSessionsNotInterchangeable(t *testing.T) {
	st := certmagic.Storage(&certmagic.FileStorage{Path: t.TempDir()})
	oa := newFixture(t, func(h *Handler) { h.storage = st })
	wc, _ := newWeComFixture(t, func(h *Handler) { h.storage = st })
	wc2, _ := newWeComFixture(t, func(h *Handler) { h.storage = st; h.AgentID = "1000003" })
	// one cookie name for all, so that only the seal can tell them apart
	for _, f := range []*fixture{oa, wc, wc2} {
		f.h.CookieName = "s"
	}
	oaSession, _ := oa.signIn(t, "/", "code-base", true)
	wcSession, _ := wc.weComSignIn(t, "/", "code-member", true)
	wc2Session, _ := wc2.weComSignIn(t, "/", "code-member", true)
	for _, c := range []*http.Cookie{oaSession, wcSession, wc2Session} {
		if c == nil {
			t.Fatal("a sign-in failed")
		}
	}
	tests := []struct {
		name   string
		f      *fixture
		ua     string
		cookie *http.Cookie
		own    bool
	}{
		{"WeCom's own", wc, wecomUA, wcSession, true},
		{"Official Account's in WeCom mode", wc, wecomUA, oaSession, false},
		{"another agent's", wc, wecomUA, wc2Session, false},
		{"WeCom's in Official Account mode", oa, wechatUA, wcSession, false},
		{"Official Account's own", oa, wechatUA, oaSession, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, next := tt.f.do(t, request{target: "/", ua: tt.ua, https: true, cookies: []*http.Cookie{tt.cookie}})
			if tt.own != next.called || !tt.own && rec.Code != http.StatusFound {
				t.Errorf("status %d, passed on %v; want a session %v", rec.Code, next.called, tt.own)
			}
		})
	}
	// each app has its own cookie key, at a key naming the corp and agent
	for _, k := range []string{"wechat_oauth/" + testAppID + "/cookie_key", "wechat_oauth/wecom/" + testCorpID + "/" + testAgentID + "/cookie_key",
		"wechat_oauth/wecom/" + testCorpID + "/1000003/cookie_key"} {
		if !st.Exists(context.Background(), k) {
			t.Errorf("no %s in storage", k)
		}
	}
	// and its own used states
	if keys, err := st.List(context.Background(), "wechat_oauth/wecom/"+testCorpID+"/"+testAgentID+"/used_states", true); err != nil || len(keys) == 0 {
		t.Errorf("used states of the WeCom app: %v %v", keys, err)
	}
}

func TestWeComSessionEncoding(t *testing.T) {
	exp := time.Unix(1700000000, 0)
	for _, s := range []session{{Expires: exp, UserID: testUserID}, {Expires: exp, OpenID: testWeComOpen}} {
		got, ok := decodeWeComSession(encodeWeComSession(s))
		if !ok || !reflect.DeepEqual(got, s) {
			t.Errorf("%+v: round trip %+v %v", s, got, ok)
		}
	}
	for name, s := range map[string]session{
		"neither":        {Expires: exp},
		"both":           {Expires: exp, UserID: "u", OpenID: "o"},
		"userid header":  {Expires: exp, UserID: "a\r\nX-Evil: 1"},
		"openid with @":  {Expires: exp, OpenID: "o@x"},
		"userid too big": {Expires: exp, UserID: strings.Repeat("u", maxIDLen+1)},
	} {
		b := encodeWeComSession(s)
		if name == "userid too big" {
			b[8] = byte(maxIDLen + 1)
		}
		if _, ok := decodeWeComSession(b); ok {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, ok := decodeWeComSession(append(encodeWeComSession(session{Expires: exp, UserID: "u"}), 'x')); ok {
		t.Error("trailing byte decoded")
	}
}

// The state is used once, in WeCom mode too, across instances sharing the
// storage; the code is exchanged once.
func TestWeComStateOnceAcrossInstances(t *testing.T) {
	a, fw := newWeComFixture(t, nil)
	b := a.weComPeer(t)
	start, _ := a.do(t, request{target: "/p", ua: wecomUA, https: true})
	_, stateName := a.h.cookieNames(true)
	at := attempt{state: stateParam(t, start.Header().Get("Location")), cookie: cookie(start, stateName)}
	if at.cookie == nil {
		t.Fatal("no state cookie")
	}
	send := func(f *fixture, code string) *httptest.ResponseRecorder {
		t.Helper()
		rec, _ := f.do(t, request{target: f.h.CallbackPath + "?code=" + code + "&state=" + at.state, ua: wecomUA, https: true, cookies: []*http.Cookie{at.cookie}})
		return rec
	}
	if rec := send(a, "code-member"); rec.Code != http.StatusFound {
		t.Fatalf("first callback: %d %q", rec.Code, rec.Body.String())
	}
	if rec := send(b, "code-nonmember"); rec.Code != http.StatusBadRequest || rec.Body.String() != msgState {
		t.Errorf("replay on the other instance: %d %q", rec.Code, rec.Body.String())
	}
	if _, info := fw.counts(); info != 1 {
		t.Errorf("getuserinfo %d times, want 1", info)
	}
}

// corp_secret, the app's access token, the codes and the member's
// user_ticket never reach a log line (debug included) or a response.
func TestWeComNoSecretsInLogsOrResponses(t *testing.T) {
	f, fw := newWeComFixture(t, nil)
	fw.setValid("TOKEN-CANARY-2") // a rejected token, replaced: both logged about
	var out strings.Builder
	record := func(rec *httptest.ResponseRecorder) {
		out.WriteString(rec.Body.String())
		for k, v := range rec.Header() {
			if k != "Set-Cookie" {
				out.WriteString(k + ": " + strings.Join(v, ",") + "\n")
			}
		}
	}
	for _, code := range []string{"code-member", "code-nonmember", "code-used", "code-busy", "unknown-code-canary"} {
		_, cb := f.weComSignIn(t, "/p?x=1", code, true)
		record(cb)
	}
	bad, _ := newWeComFixture(t, func(h *Handler) { h.CorpSecret = "wrong-corp-secret-canary" })
	_, cb := bad.weComSignIn(t, "/", "code-member", true)
	record(cb)
	logs := allLogs(f.logs) + allLogs(bad.logs)
	for _, want := range []string{"40014", "40029", "40001", "WeCom refused the app's credentials"} {
		if !strings.Contains(logs, want) {
			t.Fatalf("%q was not logged, the test proves nothing:\n%s", want, logs)
		}
	}
	for _, secret := range []string{testCorpSecret, "wrong-corp-secret-canary", "TOKEN-CANARY", "USER-TICKET-CANARY",
		"code-member", "code-nonmember", "code-used", "code-busy", "unknown-code-canary"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
		if strings.Contains(out.String(), secret) {
			t.Errorf("responses contain %q", secret)
		}
	}
	for _, id := range []string{testUserID, testWeComOpen} {
		if strings.Contains(logs, id) {
			t.Errorf("logs contain a user id %q", id)
		}
	}
	if !identity.NewNames(WeComUserIDHeader).Covers("x_wecom_userid") {
		t.Error("the WeCom header is not folded")
	}
}

// The WeCom headers are stripped in Official Account mode too: only the
// plugin may say who the user is, whichever kind of sign-in the site has.
func TestWeComHeadersStrippedInOfficialAccountMode(t *testing.T) {
	f := newFixture(t, nil)
	_, next := f.do(t, request{target: "/", ua: plainUA, header: map[string]string{
		"X-WeCom-UserID": "boss", "x_wecom_userid": "boss", "X.WECOM.OPENID": "o", "x-wecom-openid": "o"}})
	for name := range next.header {
		if identity.SameName(name, WeComUserIDHeader) || identity.SameName(name, WeComOpenIDHeader) {
			t.Errorf("upstream got %s", name)
		}
	}
}

// FuzzWeComSessionPayload checks the WeCom session decoder alone: what it
// accepts is exactly what encodeWeComSession writes, with one id, of the
// alphabets that may go into a request header.
func FuzzWeComSessionPayload(f *testing.F) {
	f.Add(encodeWeComSession(session{Expires: testNow, UserID: testUserID}))
	f.Add(encodeWeComSession(session{Expires: testNow, OpenID: testWeComOpen}))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 'u', 1, 'o'})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ok := decodeWeComSession(b)
		if !ok {
			return
		}
		if again := encodeWeComSession(s); !bytes.Equal(again, b) {
			t.Fatalf("decoded %+v re-encodes as %x, not %x", s, again, b)
		}
		if (s.UserID == "") == (s.OpenID == "") || s.UnionID != "" || strings.ContainsAny(s.UserID+s.OpenID, "\r\n :,;") {
			t.Fatalf("accepted %+v", s)
		}
	})
}
